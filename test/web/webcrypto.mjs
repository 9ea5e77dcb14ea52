// Node 18 (Debian 12's) has no global WebCrypto; libsodium's ESM build and the
// app's crypto need one. Imported first by every Node test that loads them.
import { webcrypto } from 'node:crypto';

globalThis.crypto ??= webcrypto;
