// Live consent notices: ConsentNotice LiveEvents on "patient.<id>.consent"
// (a professional's request, an emergency access declared or ended, a grant
// answered or revoked from another tab), pushed by the consent service
// through the edge. The open "Mes autorisations" screen reloads on each; the
// app shell shows the two that need the patient's attention on the others.
import { fr } from '../../i18n/fr.js';
import { enumConstants } from '../../enums.js';
import { People } from '../../people.js';

const T = fr.consent;
export const NOTICE = enumConstants('espace.v1.NoticeKind', 'NOTICE_');

/** 1 if `ev` (a LiveEvent) is a consent notice. */
export const isConsentEvent = (ev) => /^patient\.[0-9a-f]{32}\.consent$/.test(ev.topic);

/** The ConsentNotice of `ev`, or null (another topic, or undecodable). */
export function decodeNotice(codec, ev) {
  if (!isConsentEvent(ev)) return null;
  try {
    return codec.decode('espace.v1.ConsentNotice', ev.body);
  } catch (err) {
    console.warn('espace: undecodable consent notice', err.message);
    return null;
  }
}

/** What to tell the patient of notice `n` ('' when nothing: their own doing). */
export function noticeText(n, people) {
  if (n.kind === NOTICE.REQUEST && n.grant) {
    people.learnGrant(n.grant);
    return T.liveRequest(people.grantee(n.grant).of);
  }
  if (n.kind === NOTICE.EMERGENCY && n.emergency) {
    people.learnEmergency(n.emergency);
    return T.liveEmergency(people.pro(n.emergency.rpps).subject);
  }
  return '';
}

/** For the app shell on the other screens: the text of a consent event that
 *  needs the patient's attention (a request, an emergency), else ''. */
export function shellText(codec, ev) {
  const n = decodeNotice(codec, ev);
  return n ? noticeText(n, new People()) : '';
}
