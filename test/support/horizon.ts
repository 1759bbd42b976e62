import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../infra/local/emulators.js';
import { stopProcess } from '../../infra/local/launch.js';

/** Debian's `openstack-dashboard` (Horizon): its Django project and the system Python it is installed for. */
const MANAGE_PY = '/usr/share/openstack-dashboard/manage.py';
const PYTHON = '/usr/bin/python3';
const SETTINGS_MODULE = 'novaless_horizon_settings';

export interface Horizon {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Horizon's log so far (Django's server and request logs, Horizon's and the API clients'). */
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * The settings module the test writes: Debian's settings (its /etc/openstack-dashboard/local_settings.py
 * and local_settings.d, unmodified), then only what points Horizon at this cloud. No volume
 * service is in the catalog, so Horizon leaves out its Cinder pages and launch options by itself.
 */
function settingsFile(keystoneUrl: string): string {
  return `# Written by test/support/horizon.ts: Debian's openstack-dashboard settings, pointed at a novaless cloud.
from openstack_dashboard.settings import *  # noqa: F401,F403

OPENSTACK_KEYSTONE_URL = ${JSON.stringify(keystoneUrl)}
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECRET_KEY = ${JSON.stringify(randomBytes(24).toString('hex'))}
# Debian logs the API clients' requests at INFO; DEBUG puts each call to the cloud and its status in the log.
LOGGING["handlers"]["console"]["level"] = "DEBUG"
`;
}

/**
 * Starts Horizon under Django's own server (`manage.py runserver`, static files served with
 * `--insecure` since Debian's settings have DEBUG off) against the cloud's identity endpoint,
 * and resolves once its login page answers.
 */
export async function startHorizon(keystoneUrl: string, timeoutMs = 60_000): Promise<Horizon> {
  if (!existsSync(MANAGE_PY)) throw new Error(`${MANAGE_PY} is missing: install Debian's openstack-dashboard (see .ci/debian-packages)`);
  const dir = mkdtempSync(join(tmpdir(), 'novaless-horizon-'));
  writeFileSync(join(dir, `${SETTINGS_MODULE}.py`), settingsFile(keystoneUrl));
  const logFile = join(dir, 'horizon.log');
  const out = openSync(logFile, 'a');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(PYTHON, [MANAGE_PY, 'runserver', '--noreload', '--insecure', `127.0.0.1:${port}`], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PYTHONPATH: dir,
      DJANGO_SETTINGS_MODULE: SETTINGS_MODULE,
      PYTHONUNBUFFERED: '1',
      // oslo.policy warns about each deprecated keystone rule at start: noise, not Horizon's log.
      PYTHONWARNINGS: 'ignore',
    },
    stdio: ['ignore', out, out],
  });
  const log = () => readFileSync(logFile, 'utf8');
  const stop = async () => {
    await stopProcess(child, 10_000);
    if (!process.env.NOVALESS_KEEP_TEST_STATE) rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      const text = log();
      await stop();
      throw new Error(`Horizon exited early:\n${text}`);
    }
    const status = await fetch(`${url}/auth/login/`).then((r) => r.status, () => 0);
    if (status === 200) return { url, log, stop };
    if (Date.now() > deadline) {
      const text = log();
      await stop();
      throw new Error(`Horizon did not answer on ${url} in time:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The lines of Horizon's log that say something failed: Django's 500s (`ERROR django.request`,
 * the server's 5xx lines) and the API errors Horizon caught and turned into a message
 * (`ERROR horizon.exceptions`, `ERROR openstack_dashboard...`).
 */
export function horizonErrors(logText: string): string[] {
  return logText.split('\n').filter((line) => /^ERROR /.test(line) || /^(WARNING|ERROR) django\.server ".*" 5\d\d /.test(line));
}
