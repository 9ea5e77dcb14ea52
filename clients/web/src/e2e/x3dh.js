// X3DH (docs/e2e.md "X3DH"), as clients/e2e/x3dh.c: the initiator's side
// from a peer's bundle, the responder's from an initial message, each ending
// in a Double Ratchet session (ratchet.js).
import { sodium, check, concat, kdfRoot, kdfX3dh, E2EError } from './kdf.js';
import { bundleVerify, prekeyKind } from './prekeys.js';
import { messageInfo } from './header.js';
import { flag, sessionEmpty, sessionDecrypt } from './ratchet.js';

function dhAll(pairs) {
  try {
    return concat(...pairs.map(([sk, pk]) => sodium().crypto_scalarmult(sk, pk)));
  } catch {
    throw new E2EError('INVALID_ARGUMENT', 'low-order key');
  }
}

function toX25519(edPk) {
  try {
    return sodium().crypto_sign_ed25519_pk_to_curve25519(edPk);
  } catch {
    throw new E2EError('INVALID_ARGUMENT', 'identity key is not a valid Ed25519 key');
  }
}

/** The X3DH secret of the initiator `me` with `peer`'s bundle and ephemeral secret ekSk (verifies the bundle). */
export function x3dhSecretInitiator(me, peer, ekSk) {
  bundleVerify(peer);
  const pairs = [[me.dhSk, peer.spk], [ekSk, toX25519(peer.ik)], [ekSk, peer.spk]];
  if (peer.opkKind !== prekeyKind.none) pairs.push([ekSk, peer.opk]);
  return kdfX3dh(dhAll(pairs));
}

/**
 * Start a session with the device of `peer` (its bundle): X3DH as the
 * initiator. `det` = { ekSk, dhsSk } fixes the randomness (test vectors).
 */
export function x3dhInitiate(me, peer, det = {}) {
  const so = sodium();
  const ekSk = det.ekSk || so.randombytes_buf(32);
  const dhsSk = det.dhsSk ? Uint8Array.from(det.dhsSk) : so.randombytes_buf(32);
  const sk = x3dhSecretInitiator(me, peer, ekSk);
  const s = sessionEmpty();
  s.flags = flag.initiator | flag.x3dhPending | flag.hasDhr | flag.hasCks;
  s.ad = concat(me.signPk, peer.ik);
  s.dhsSk = dhsSk;
  s.dhsPk = so.crypto_scalarmult_base(dhsSk);
  s.dhr = Uint8Array.from(peer.spk);
  s.ek = so.crypto_scalarmult_base(ekSk);
  [s.rk, s.cks] = kdfRoot(sk, dhAll([[dhsSk, peer.spk]]));
  s.spkId = peer.spkId;
  s.opkKind = peer.opkKind;
  s.opkId = peer.opkId;
  so.memzero(sk);
  return s;
}

/**
 * Answer an initial message: X3DH as the responder with the signed prekey
 * `spk` and the one-time or last-resort prekey `opk` it names (null when it
 * names none). Returns { session, plaintext }; the caller then deletes a
 * one-time prekey for good.
 */
export function x3dhRespond(me, spk, opk, msg) {
  const h = messageInfo(msg);
  check(h.initial, 'INVALID_ARGUMENT', 'not an initial message');
  check(spk && spk.kind === prekeyKind.signed && spk.id === h.spkId, 'INVALID_ARGUMENT', 'signed prekey named');
  check(h.opkKind === prekeyKind.none ? !opk : opk && opk.kind === h.opkKind && opk.id === h.opkId,
    'INVALID_ARGUMENT', 'prekey named');
  const pairs = [[spk.sk, toX25519(h.ik)], [me.dhSk, h.ek], [spk.sk, h.ek]];
  if (opk) pairs.push([opk.sk, h.ek]);
  const s = sessionEmpty();
  s.ad = concat(h.ik, me.signPk);
  s.rk = kdfX3dh(dhAll(pairs));
  s.dhsSk = Uint8Array.from(spk.sk);
  s.dhsPk = Uint8Array.from(spk.pk);
  s.ek = h.ek;
  s.spkId = h.spkId;
  s.opkKind = h.opkKind;
  s.opkId = h.opkId;
  const plaintext = sessionDecrypt(s, msg);
  return { session: s, plaintext };
}
