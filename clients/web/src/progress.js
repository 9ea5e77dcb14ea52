// A progress bar for uploads and downloads (messaging attachments, DMP
// documents): a labelled <progress> and its French text, announced politely.
import { h, nextId } from './dom.js';

/** A progress element with its label and text (textFn(pct): "45 % envoyés"); set(done, total). */
export function progressBar(label, textFn) {
  const id = nextId('progress');
  const bar = h('progress', { id, max: 100, value: 0 });
  const text = h('span', { className: 'progress-text', 'aria-live': 'polite' }, textFn(0));
  const wrap = h('div', { className: 'progress' }, h('label', { for: id }, label), bar, text);
  return {
    wrap,
    set(done, total) {
      const pct = total ? Math.floor((100 * done) / total) : 100;
      bar.value = pct;
      text.textContent = textFn(pct);
    },
  };
}
