/**
 * Fetches the anchors the coordinator holds about the caller's audit log (`Consortium.AuditAnchors`), every page of
 * them. Used by `accord audit verify` (a one-off mutual-TLS client with the node's certificate) and by the node's
 * REST route (over the node's coordinator link).
 *
 * Flow: ask for anchors after seq 0, `AUDIT_ANCHORS_PAGE_MAX` at a time, then after the last one received, until a
 * page comes back shorter than asked. The coordinator takes the member from the client certificate, so a node can
 * only ever read the anchors of its own log. Every page is validated by the wire schema.
 */
import type * as grpc from '@grpc/grpc-js';
import { callUnary, createMtlsClient } from '../grpc/client.js';
import { serviceOf } from '../grpc/proto.js';
import type { TlsMaterial } from '../tls/credentials.js';
import {
  AUDIT_ANCHORS_PAGE_MAX,
  type AnchorView,
  type AuditAnchorsQuery,
  CONSORTIUM_PROTO,
  CONSORTIUM_SERVICE,
  consortiumWire as wire,
} from '../wire/consortium.js';

/** Calls `page` until the anchors run out; `page` is one AuditAnchors call (or one page of a local anchor store). */
export async function fetchAllAnchors<A extends { readonly seq: number }>(
  page: (query: AuditAnchorsQuery) => Promise<A[]>,
): Promise<A[]> {
  const all: A[] = [];
  let afterSeq = 0;
  for (;;) {
    const anchors = await page({ afterSeq, limit: AUDIT_ANCHORS_PAGE_MAX });
    for (const anchor of anchors) {
      // The wire schema checks order within a page; this checks it across pages (a looping server ends here).
      if (anchor.seq <= afterSeq) throw new Error('coordinator returned anchors out of order');
      all.push(anchor);
      afterSeq = anchor.seq;
    }
    if (anchors.length < AUDIT_ANCHORS_PAGE_MAX) return all;
  }
}

/** One AuditAnchors call on an existing Consortium client. */
export async function auditAnchorsPage(client: grpc.Client, query: AuditAnchorsQuery): Promise<AnchorView[]> {
  const response = await callUnary(client, 'auditAnchors', wire.auditAnchorsRequest.toProto(query));
  return wire.auditAnchorsResponse.fromProto(response);
}

/** Connects to the coordinator as the member of `tls`, fetches every anchor of its log, and disconnects. */
export async function fetchAnchorsFromCoordinator(
  tls: TlsMaterial,
  address: string,
  serverName: string,
): Promise<AnchorView[]> {
  const client = createMtlsClient<grpc.Client>(
    serviceOf(CONSORTIUM_PROTO, CONSORTIUM_SERVICE),
    address,
    serverName,
    tls,
  );
  try {
    return await fetchAllAnchors((query) => auditAnchorsPage(client, query));
  } finally {
    client.close();
  }
}
