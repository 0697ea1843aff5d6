// The tally page's script (src/pages/admin/tally/index.astro): taps are queued on the device and
// sent to POST /admin/tally/taps, so a phone without a connection still counts. Plain JavaScript,
// bundled by Astro (a script file of the site's own, allowed by its Content-Security-Policy).
(() => {
  const root = document.querySelector('[data-tally]');
  const form = root && root.querySelector('[data-tap-form]');
  if (!root || !form || !window.fetch || !window.JSON) return;

  const ENDPOINT = '/admin/tally/taps';
  const KEY = 'footfall.tally.queue.' + root.dataset.user;
  const UNDO_MS = Number(root.dataset.undoMs) || 60000;
  const timeZone = root.dataset.timeZone;
  const LABELS = { call: 'Phone call', walk_in: 'Walk-in' };
  const waiting = root.querySelector('[data-waiting]');
  const messages = root.querySelector('[data-messages]');
  const undoBox = root.querySelector('[data-client-undo]');
  const undoText = root.querySelector('[data-client-undo-text]');
  const undoButton = root.querySelector('[data-client-undo-button]');
  const serverUndo = root.querySelector('[data-server-undo]');
  const mentioned = form.querySelector('input[name="mentioned"]');
  const note = form.querySelector('input[name="note"]');

  let server = {
    day: root.dataset.day,
    call: Number(root.querySelector('[data-count="call"]').textContent),
    walk_in: Number(root.querySelector('[data-count="walk_in"]').textContent),
  };
  let memory = [];
  let sending = false;
  let delay = 2000;
  let retryTimer = 0;
  let signedOut = false;
  let lastTap = null;
  let undoTimer = 0;

  function load() {
    try {
      const q = JSON.parse(localStorage.getItem(KEY) || '[]');
      return Array.isArray(q) ? q : [];
    } catch {
      return memory;
    }
  }
  function save(queue) {
    memory = queue;
    try {
      localStorage.setItem(KEY, JSON.stringify(queue));
    } catch {
      /* private mode: this page's memory only */
    }
  }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }
  const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const clockFormat = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit' });
  const dayOf = (at) => dayFormat.format(new Date(at));
  const clock = (at) => clockFormat.format(new Date(at));

  function say(kind, text) {
    const box = document.createElement('div');
    box.className = 'alert alert--' + kind;
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    const p = document.createElement('p');
    p.textContent = text;
    box.append(p);
    messages.replaceChildren(box);
  }

  function render() {
    const queue = load();
    const counts = { call: server.call, walk_in: server.walk_in };
    for (const tap of queue) if (dayOf(tap.at) === server.day) counts[tap.kind]++;
    for (const kind of ['call', 'walk_in']) {
      root.querySelector('[data-count="' + kind + '"]').textContent = String(counts[kind]);
      root.querySelector('[data-label="' + kind + '"]').textContent =
        kind === 'call'
          ? counts[kind] === 1
            ? 'phone call'
            : 'phone calls'
          : counts[kind] === 1
            ? 'walk-in'
            : 'walk-ins';
    }
    const n = queue.length;
    waiting.hidden = n === 0;
    const taps = n + (n === 1 ? ' tap' : ' taps') + ' waiting to send';
    waiting.textContent =
      n === 0
        ? ''
        : signedOut
          ? taps + '. Your session has ended: sign in again (they are kept on this device) and they will be sent.'
          : navigator.onLine
            ? taps + ' — kept on this device, trying again.'
            : 'Offline: ' + taps + ' — kept on this device and sent when the connection is back.';
  }

  function schedule(ms) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, ms);
  }

  async function flush() {
    const queue = load();
    if (sending || queue.length === 0) return;
    sending = true;
    const batch = queue.slice(0, 50);
    try {
      const res = await fetch(ENDPOINT, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sentAt: Date.now(), taps: batch }),
      });
      if (res.status === 401) {
        signedOut = true;
        return;
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const answer = await res.json();
      signedOut = false;
      const done = new Set();
      for (const result of answer.results) {
        done.add(result.clientId);
        if (result.status === 'refused') {
          const tap = batch.find((t) => t.clientId === result.clientId);
          say('error', (tap ? LABELS[tap.kind] + ' at ' + clock(tap.at) + ' was not recorded: ' : '') + result.message);
        }
      }
      save(load().filter((t) => !done.has(t.clientId)));
      if (answer.today) server = answer.today;
      delay = 2000;
      if (load().length > 0) schedule(0);
    } catch {
      delay = Math.min(delay * 2, 60000);
      schedule(delay);
    } finally {
      sending = false;
      render();
    }
  }

  function showUndo(tap) {
    lastTap = tap;
    if (serverUndo) serverUndo.hidden = true;
    undoText.textContent = 'Last tap: ' + LABELS[tap.kind] + ' at ' + clock(tap.at) + '.';
    undoBox.hidden = false;
    clearTimeout(undoTimer);
    undoTimer = setTimeout(() => {
      undoBox.hidden = true;
      lastTap = null;
    }, UNDO_MS);
  }

  form.addEventListener('submit', (event) => {
    const kind = event.submitter && event.submitter.value;
    if (kind !== 'call' && kind !== 'walk_in') return;
    event.preventDefault();
    const tap = { clientId: uuid(), kind, at: Date.now() };
    if (mentioned.checked) tap.mentioned = true;
    if (note.value.trim()) tap.note = note.value.trim().slice(0, 500);
    save(load().concat([tap]));
    mentioned.checked = false;
    note.value = '';
    say('ok', LABELS[kind] + ' at ' + clock(tap.at) + '.');
    showUndo(tap);
    render();
    flush();
  });

  undoButton.addEventListener('click', async () => {
    const tap = lastTap;
    if (!tap) return;
    const queue = load();
    if (queue.some((t) => t.clientId === tap.clientId)) {
      save(queue.filter((t) => t.clientId !== tap.clientId));
      say('ok', 'Undone: the ' + LABELS[tap.kind].toLowerCase() + ' at ' + clock(tap.at) + ' is not counted.');
    } else {
      try {
        const res = await fetch(ENDPOINT, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ undo: tap.clientId }),
        });
        const answer = await res.json();
        if (!res.ok) {
          say('error', answer.message || 'Undo failed.');
          return;
        }
        server = answer.today;
        say('ok', 'Undone: the ' + LABELS[tap.kind].toLowerCase() + ' at ' + clock(tap.at) + ' is not counted.');
      } catch {
        say('error', 'No connection: the tap could not be undone. Try again in a moment.');
        return;
      }
    }
    undoBox.hidden = true;
    lastTap = null;
    render();
  });

  window.addEventListener('online', () => {
    delay = 2000;
    flush();
  });
  window.addEventListener('offline', render);
  window.addEventListener('storage', (event) => {
    if (event.key === KEY) render();
  });
  setInterval(() => {
    if (!sending && load().length > 0) flush();
  }, 15000);
  render();
  flush();
})();
