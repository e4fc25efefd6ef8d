/** REST roles carried by bearer tokens. Defined once; node routes and the CLI import them. */
export const ROLES = ['admin', 'risk', 'marketing', 'reviewer'] as const;
export type Role = (typeof ROLES)[number];

/** Member liveness as the coordinator tracks it. */
export const MEMBER_STATUS = { ONLINE: 'online', OFFLINE: 'offline', NEVER_SEEN: 'never_seen' } as const;
export type MemberStatus = (typeof MEMBER_STATUS)[keyof typeof MEMBER_STATUS];

/** Where a member's name sits in its certificate: subject CN, and a URI SAN of this form. */
export const MEMBER_URI_PREFIX = 'urn:accord:member:';
export const COORDINATOR_NAME = 'coordinator';

/** Member names: lowercase DNS-label style, so they are safe in file names, certificates and URLs. */
export const MEMBER_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
