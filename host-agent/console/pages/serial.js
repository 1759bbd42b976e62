// Connects xterm.js to the serial websocket of this same host and port, with the token from this
// page's URL: https://<host>/?token=... (the serial URL with https for wss) or /serial.html?token=...
// The token is used once: a reload needs a new console URL.
import { Terminal } from '/xterm/xterm.mjs';

const status = (text) => {
  document.getElementById('status').textContent = text;
};
const token = new URLSearchParams(window.location.search).get('token') ?? '';
const url = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/?token=${encodeURIComponent(token)}`;

const term = new Terminal({ convertEol: false, scrollback: 5000 });
term.open(document.getElementById('terminal'));

status('Connecting');
const ws = new WebSocket(url, ['binary']);
ws.binaryType = 'arraybuffer';
const encoder = new TextEncoder();
let opened = false;
ws.addEventListener('open', () => {
  opened = true;
  status('Connected');
  term.focus();
});
ws.addEventListener('message', (e) => term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data)));
ws.addEventListener('close', () => {
  status(opened ? 'Disconnected' : 'Disconnected: the console closed or the token was refused');
  term.options.disableStdin = true;
});
term.onData((data) => {
  if (ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
});
term.onBinary((data) => {
  if (ws.readyState === WebSocket.OPEN) ws.send(Uint8Array.from(data, (c) => c.charCodeAt(0)));
});
