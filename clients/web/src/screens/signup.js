// Screen "Inscription": ask for a patient account (identity SignUpPatient);
// it stays pending until activated with the code delivered out of band
// (screen "Activer mon compte", which then logs in).
import { h, field, labelled, nextId } from '../dom.js';
import { fr } from '../i18n/fr.js';
import { insCheck, insMessage } from '../ins.js';
import { EspaceError, describeError } from '../errors.js';
import { enumConstants } from '../enums.js';
import { handOver } from '../activation.js';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/** Birth date checks (YYYY-MM-DD from <input type=date>): '' when fine. */
export function birthDateMessage(value, now = new Date()) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return fr.signup.birthDateEmpty;
  const today = now.toISOString().slice(0, 10);
  if (value > today) return fr.signup.birthDateFuture;
  if (value < '1890-01-01') return fr.signup.birthDateOld;
  return '';
}

/**
 * The sex ('1' male, '2' female: the INS's first digit) and birth date
 * (YYYY-MM-DD) against a valid INS: { sex, birthDate } French problems, ''
 * when they agree. The INS's month is compared only when it is 01..12
 * (other values stand for an unknown month).
 */
export function insTraitsMessages(ins, sex, birthDate) {
  const out = { sex: '', birthDate: '' };
  if (sex && sex !== ins[0]) out.sex = fr.signup.sexMismatch;
  if (/^\d{4}-\d{2}-\d{2}$/.test(birthDate)) {
    const month = Number(ins.slice(3, 5));
    if (birthDate.slice(2, 4) !== ins.slice(1, 3)) out.birthDate = fr.signup.birthYearMismatch;
    else if (month >= 1 && month <= 12 && birthDate.slice(5, 7) !== ins.slice(3, 5)) out.birthDate = fr.signup.birthMonthMismatch;
  }
  return out;
}

export function render(ctx) {
  const Sex = enumConstants('espace.v1.Sex', 'SEX_');
  const ins = field({ label: fr.ins.label, name: 'ins', hint: fr.ins.hint, autocomplete: 'off', inputmode: 'text', maxLength: 24 });
  const birthNames = field({ label: fr.signup.birthNames, name: 'birth_names', hint: fr.signup.birthNamesHint, autocomplete: 'family-name', maxLength: 100 });
  const firstNames = field({ label: fr.signup.firstNames, name: 'first_names', hint: fr.signup.firstNamesHint, autocomplete: 'given-name', maxLength: 620 });
  const birthDate = field({ label: fr.signup.birthDate, name: 'birth_date', type: 'date', autocomplete: 'bday' });
  birthDate.input.min = '1890-01-01';
  birthDate.input.max = new Date().toISOString().slice(0, 10);
  const sex = labelled(fr.signup.sex, h('select', { id: nextId('sex'), name: 'sex', required: true },
    h('option', { value: '' }, fr.signup.sexChoose),
    h('option', { value: '2' }, fr.signup.sexFemale),
    h('option', { value: '1' }, fr.signup.sexMale)), fr.signup.sexHint);
  const password = field({ label: fr.signup.password, name: 'password', type: 'password', hint: fr.signup.passwordHint, autocomplete: 'new-password', maxLength: PASSWORD_MAX });
  const confirm = field({ label: fr.signup.confirm, name: 'confirm', type: 'password', autocomplete: 'new-password', maxLength: PASSWORD_MAX });
  const formError = h('div', { className: 'form-error', role: 'alert' });
  const status = h('p', { className: 'form-status', role: 'status' });
  const submit = h('button', { type: 'submit', className: 'primary' }, fr.signup.submit);

  // Live INS key check: say it as soon as the length is reached, and on leaving the field.
  ins.input.addEventListener('input', () => {
    const v = ins.input.value;
    const n = v.replace(/[\s.\-]/g, '').length;
    const msg = insMessage(v);
    if (n >= 15 || (msg && msg === fr.ins.characters)) {
      if (msg) ins.setError(msg);
      else ins.setOk(fr.ins.ok);
    } else {
      ins.setError('');
    }
  });
  ins.input.addEventListener('blur', () => {
    if (!ins.input.value) return;
    const msg = insMessage(ins.input.value);
    if (msg) ins.setError(msg);
    else ins.setOk(fr.ins.ok);
  });

  function validate() {
    const problems = [];
    const check = (f, msg) => {
      if (msg) {
        f.setError(msg);
        problems.push({ f, msg });
      } else if (f === ins) {
        f.setOk(fr.ins.ok);
      } else {
        f.setError('');
      }
    };
    check(ins, insMessage(ins.input.value));
    const bn = birthNames.input.value.trim();
    check(birthNames, !bn ? fr.signup.birthNamesEmpty : bn.length > 100 ? fr.signup.birthNamesLong : '');
    const fn = firstNames.input.value.trim().split(/\s+/).filter(Boolean);
    check(firstNames, fn.length === 0 ? fr.signup.firstNamesEmpty
      : fn.length > 10 ? fr.signup.firstNamesMany
        : fn.some((x) => x.length > 60) ? fr.signup.firstNameLong : '');
    const insOk = insCheck(ins.input.value);
    const traits = insOk.value ? insTraitsMessages(insOk.value, sex.input.value, birthDate.input.value)
      : { sex: '', birthDate: '' };
    check(birthDate, birthDateMessage(birthDate.input.value) || traits.birthDate);
    check(sex, !sex.input.value ? fr.signup.sexEmpty : traits.sex);
    const pw = password.input.value;
    check(password, [...pw].length < PASSWORD_MIN ? fr.signup.passwordShort
      : [...pw].length > PASSWORD_MAX ? fr.signup.passwordLong : '');
    check(confirm, confirm.input.value !== pw ? fr.signup.confirmMismatch : '');
    const sexValue = sex.input.value === '1' ? Sex.MALE : sex.input.value === '2' ? Sex.FEMALE : Sex.UNSPECIFIED;
    return { problems, request: { ins: insOk.value, birth_names: bn, first_names: fn, birth_date: birthDate.input.value, sex: sexValue, password: pw } };
  }

  function showProblems(problems) {
    formError.replaceChildren(
      h('p', {}, fr.form.errorsTitle),
      h('ul', {}, problems.map(({ f, msg }) => h('li', {},
        h('a', { href: `#${f.input.id}`, onclick: (e) => { e.preventDefault(); f.input.focus(); } }, msg)))));
    problems[0].f.input.focus();
  }

  async function onSubmit(e) {
    e.preventDefault();
    formError.replaceChildren();
    const { problems, request } = validate();
    if (problems.length) {
      showProblems(problems);
      return;
    }
    submit.disabled = true;
    status.textContent = fr.signup.busy;
    try {
      // The same answer whether the INS has an account or not: always on to
      // the activation code.
      await ctx.conn.call('identity', 'SignUpPatient', request);
      handOver(request.ins, request.password);
      password.input.value = '';
      confirm.input.value = '';
      ctx.navigate('/activation', fr.signup.done);
    } catch (err) {
      status.textContent = '';
      submit.disabled = false;
      const text = describeError(err);
      formError.replaceChildren(h('p', {}, text));
      const byField = { ins, birth_names: birthNames, first_names: firstNames, birth_date: birthDate, sex, password };
      const f = err instanceof EspaceError && byField[(err.field || '').replace(/[.[].*$/, '')];
      if (f) {
        f.setError(text);
        f.input.focus();
      }
    }
  }

  const form = h('form', { className: 'card', noValidate: true, onsubmit: onSubmit, 'aria-labelledby': 'signup-title' },
    formError,
    ins.wrap,
    h('fieldset', {},
      h('legend', {}, fr.signup.intro),
      birthNames.wrap, firstNames.wrap, birthDate.wrap, sex.wrap),
    password.wrap, confirm.wrap,
    h('div', { className: 'actions' }, submit),
    status);

  return {
    title: fr.signup.title,
    el: h('section', { className: 'screen' },
      h('h1', { id: 'signup-title', tabIndex: -1 }, fr.signup.title),
      form,
      h('p', { className: 'aside' }, fr.signup.haveAccount, ' ',
        h('a', { href: '#/connexion' }, fr.signup.toLogin))),
  };
}
