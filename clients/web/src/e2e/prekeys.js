// A device's keys (docs/e2e.md "Keys", "Prekeys"): its identity (the Ed25519
// key identity records, with the X25519 pair derived from it), its prekeys
// and the bundle it publishes. Same rules as clients/e2e/prekeys.c.
import { sodium, check, concat, u32, LABEL_PREKEY, E2EError } from './kdf.js';

/** Prekey kinds, as in the bundle and the initial header. */
export const prekeyKind = Object.freeze({ none: 0, signed: 1, oneTime: 2, lastResort: 3 });

export const SPK_ROTATE_S = 7 * 86400;
export const SPK_KEEP_S = 30 * 86400;
export const OPK_BATCH = 100;
export const OPK_LOW = 20;

function x25519Identity(signPk, signSk) {
  const s = sodium();
  try {
    return {
      signPk, signSk,
      dhPk: s.crypto_sign_ed25519_pk_to_curve25519(signPk),
      dhSk: s.crypto_sign_ed25519_sk_to_curve25519(signSk),
    };
  } catch {
    throw new E2EError('INVALID_ARGUMENT', 'identity key is not a valid Ed25519 key');
  }
}

/** The identity of a 32-byte Ed25519 seed: { signPk, signSk, dhPk, dhSk }. */
export function identityFromSeed(seed) {
  check(seed && seed.length === 32, 'INVALID_ARGUMENT', 'seed of 32 bytes');
  const kp = sodium().crypto_sign_seed_keypair(seed);
  return x25519Identity(kp.publicKey, kp.privateKey);
}

/** A new random identity. */
export function identityGenerate() {
  return identityFromSeed(sodium().randombytes_buf(32));
}

/** The identity of an existing Ed25519 secret key (crypto.js's device key). */
export function identityFromSecret(signSk) {
  check(signSk && signSk.length === 64, 'INVALID_ARGUMENT', 'secret key of 64 bytes');
  const id = identityFromSeed(signSk.subarray(0, 32));
  check(sodium().memcmp(id.signPk, signSk.subarray(32)), 'INVALID_ARGUMENT', 'public half does not match');
  return id;
}

/** Wipe the secrets of an identity or a prekey in place. */
export function wipe(keys) {
  const s = sodium();
  for (const k of ['signSk', 'dhSk', 'sk']) if (keys && keys[k]) s.memzero(keys[k]);
}

const signedKind = (kind) => kind === prekeyKind.signed || kind === prekeyKind.lastResort;

function signedMessage(kind, id, pk) {
  return concat(new TextEncoder().encode(LABEL_PREKEY), new Uint8Array([kind]), u32(id), pk);
}

/** A prekey from its X25519 secret: { kind, id, createdS, pk, sk, sig }. */
export function prekeyFromSecret(identity, kind, id, nowS, sk) {
  check(kind === prekeyKind.oneTime || (signedKind(kind) && identity), 'INVALID_ARGUMENT', 'prekey kind');
  check(Number.isInteger(id) && id >= 0 && id <= 0xffffffff, 'INVALID_ARGUMENT', 'prekey id');
  const s = sodium();
  const pk = s.crypto_scalarmult_base(sk);
  const sig = signedKind(kind) ? s.crypto_sign_detached(signedMessage(kind, id, pk), identity.signSk)
    : new Uint8Array(64);
  return { kind, id, createdS: nowS, pk, sk: Uint8Array.from(sk), sig };
}

/** A new random prekey of `kind`, signed by `identity` when the kind is signed. */
export function prekeyGenerate(identity, kind, id, nowS) {
  return prekeyFromSecret(identity, kind, id, nowS, sodium().randombytes_buf(32));
}

/** `count` one-time prekeys numbered firstId, firstId + 1, ... */
export function prekeysGenerate(count, firstId, nowS) {
  check(count >= 0 && firstId + count - 1 <= 0xffffffff, 'INVALID_ARGUMENT', 'prekey ids wrap');
  return Array.from({ length: count }, (_, i) => prekeyGenerate(null, prekeyKind.oneTime, firstId + i, nowS));
}

/** Is the signed prekey due for replacement at nowS? */
export function prekeyRotationDue(spk, nowS) {
  return nowS - spk.createdS >= SPK_ROTATE_S;
}

/** May a replaced signed or last-resort prekey be wiped at nowS? */
export function prekeyExpired(spk, nowS) {
  return nowS - spk.createdS >= SPK_ROTATE_S + SPK_KEEP_S;
}

/** Check a prekey signature; throws UNAUTHENTICATED (or INVALID_ARGUMENT for an unsigned kind). */
export function prekeyVerify(ik, kind, id, pk, sig) {
  check(signedKind(kind), 'INVALID_ARGUMENT', 'kind is not signed');
  const ok = sodium().crypto_sign_verify_detached(sig, signedMessage(kind, id, pk), ik);
  check(ok, 'UNAUTHENTICATED', 'bad prekey signature');
}

/** The bundle a device publishes: its identity, signed prekey, optional one-time/last-resort prekey. */
export function bundleMake(identity, spk, opk = null) {
  check(spk.kind === prekeyKind.signed, 'INVALID_ARGUMENT', 'signed prekey');
  check(!opk || opk.kind === prekeyKind.oneTime || opk.kind === prekeyKind.lastResort, 'INVALID_ARGUMENT',
    'one-time or last-resort prekey');
  return {
    ik: identity.signPk,
    spkId: spk.id, spk: spk.pk, spkSig: spk.sig,
    opkKind: opk ? opk.kind : prekeyKind.none,
    opkId: opk ? opk.id : 0,
    opk: opk ? opk.pk : new Uint8Array(32),
    opkSig: opk && opk.kind === prekeyKind.lastResort ? opk.sig : new Uint8Array(64),
  };
}

/** Check a bundle from the server (throws INVALID_ARGUMENT or UNAUTHENTICATED). */
export function bundleVerify(b) {
  const s = sodium();
  try {
    s.crypto_sign_ed25519_pk_to_curve25519(b.ik);
  } catch {
    throw new E2EError('INVALID_ARGUMENT', 'identity key is not a valid Ed25519 key');
  }
  if (b.opkKind === prekeyKind.none) {
    check(b.opkId === 0 && s.is_zero(b.opk) && s.is_zero(b.opkSig), 'INVALID_ARGUMENT', 'empty prekey slot');
  } else if (b.opkKind === prekeyKind.oneTime) {
    check(s.is_zero(b.opkSig), 'INVALID_ARGUMENT', 'one-time prekeys carry no signature');
  } else {
    check(b.opkKind === prekeyKind.lastResort, 'INVALID_ARGUMENT', 'prekey kind');
  }
  prekeyVerify(b.ik, prekeyKind.signed, b.spkId, b.spk, b.spkSig);
  if (b.opkKind === prekeyKind.lastResort) prekeyVerify(b.ik, prekeyKind.lastResort, b.opkId, b.opk, b.opkSig);
}
