// Connects noVNC to the websocket named by `path` (Nova's URL: vnc_lite.html?path=%3Ftoken%3D...)
// on this same host and port. The token is used once: a reload needs a new console URL.
import RFB from '/novnc/core/rfb.js';

const status = (text) => {
  document.getElementById('status').textContent = text;
};
const path = new URLSearchParams(window.location.search).get('path') ?? '';
const url = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/${path.replace(/^\/+/, '')}`;

status('Connecting');
const rfb = new RFB(document.getElementById('screen'), url, { shared: true, wsProtocols: ['binary'] });
rfb.viewOnly = false;
rfb.addEventListener('connect', () => status('Connected'));
rfb.addEventListener('disconnect', (e) => status(e.detail.clean ? 'Disconnected' : 'Disconnected: the console closed or the token was refused'));
rfb.addEventListener('desktopname', (e) => {
  document.title = e.detail.name;
  document.body.dataset.desktopName = e.detail.name;
});
document.getElementById('ctrl-alt-del').addEventListener('click', () => rfb.sendCtrlAltDel());
