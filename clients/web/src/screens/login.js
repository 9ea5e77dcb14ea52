// Screen "Connexion": log in with INS and password.
import { h, field, notice } from '../dom.js';
import { fr } from '../i18n/fr.js';
import { insCheck, insMessage } from '../ins.js';
import { Code, EspaceError, describeError } from '../errors.js';
import { handOver } from '../activation.js';

/** The French message for a refused log-in. */
export function loginErrorMessage(err) {
  if (err instanceof EspaceError) {
    if (err.code === Code.UNAUTHENTICATED) return fr.login.badCredentials;
    if (err.code === Code.RESOURCE_EXHAUSTED) return fr.login.locked;
  }
  return describeError(err);
}

export function render(ctx) {
  const ins = field({ label: fr.ins.label, name: 'ins', hint: fr.ins.hint, autocomplete: 'username', maxLength: 24 });
  const password = field({ label: fr.login.password, name: 'password', type: 'password', autocomplete: 'current-password', maxLength: 256 });
  const formError = h('div', { className: 'form-error', role: 'alert' });
  const status = h('p', { className: 'form-status', role: 'status' });
  const submit = h('button', { type: 'submit', className: 'primary' }, fr.login.submit);
  // what brought us here ("Vous êtes déconnecté.", a session that ended):
  // gone once the user acts, so that it never stands above a new error
  const flash = ctx.flash ? notice('info', ctx.flash) : null;

  async function onSubmit(e) {
    e.preventDefault();
    formError.replaceChildren();
    if (flash) flash.remove();
    const insMsg = insMessage(ins.input.value);
    ins.setError(insMsg);
    const pwMsg = password.input.value ? '' : fr.login.passwordEmpty;
    password.setError(pwMsg);
    if (insMsg || pwMsg) {
      (insMsg ? ins : password).input.focus();
      return;
    }
    submit.disabled = true;
    status.textContent = fr.login.busy;
    try {
      await ctx.session.login(insCheck(ins.input.value).value, password.input.value);
      password.input.value = '';
      ctx.navigate('/accueil', ctx.session.keysError ? fr.login.keysFailed : '');
    } catch (err) {
      status.textContent = '';
      submit.disabled = false;
      if (err instanceof EspaceError && err.code === Code.FAILED_PRECONDITION && err.field === 'ins') {
        // the right password of a pending account: on to its activation code
        handOver(insCheck(ins.input.value).value, password.input.value);
        password.input.value = '';
        ctx.navigate('/activation', fr.login.pending);
        return;
      }
      formError.replaceChildren(h('p', {}, loginErrorMessage(err)));
      password.input.select();
      password.input.focus();
    }
  }

  return {
    title: fr.login.title,
    el: h('section', { className: 'screen' },
      h('h1', { id: 'login-title', tabIndex: -1 }, fr.login.title),
      flash,
      h('form', { className: 'card', noValidate: true, onsubmit: onSubmit, 'aria-labelledby': 'login-title' },
        h('p', {}, fr.login.intro),
        formError, ins.wrap, password.wrap,
        h('div', { className: 'actions' }, submit),
        status),
      h('p', { className: 'aside' }, fr.login.noAccount, ' ',
        h('a', { href: '#/inscription' }, fr.login.toSignup))),
  };
}
