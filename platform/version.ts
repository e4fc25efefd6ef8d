/** The software version reported to peers and in the OpenAPI document. */
export const ACCORD_VERSION = '0.1.0';
