// The handler form's directory walk on paths that cannot name a file (issue 9 fuzz: a
// 51,203-byte path segment made stat throw ENAMETOOLONG and the request a 500).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findIndex, walkPath } from '../../src/config/file-walk.js';

test('walkPath: a segment over NAME_MAX, a file used as a folder and a symlink loop are missing files, not errors', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'fcgate-walk-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'd', 'f.txt'), 'x');
  symlinkSync(join(root, 'loop'), join(root, 'loop'));
  const long = 'a'.repeat(300);
  assert.deepEqual(walkPath(root, `/${long}`), {
    kind: 'file',
    filename: `${root}/${long}`,
    exists: false,
    scriptName: `/${long}`,
    pathInfo: '',
  });
  assert.deepEqual(walkPath(root, `/d/${long}/x`), {
    kind: 'file',
    filename: `${root}/d/${long}`,
    exists: false,
    scriptName: `/d/${long}`,
    pathInfo: '/x',
  });
  assert.deepEqual(walkPath(root, '/loop/x'), {
    kind: 'file',
    filename: `${root}/loop`,
    exists: false,
    scriptName: '/loop',
    pathInfo: '/x',
  });
  // The walk stops at the file; what follows is PATH_INFO (no ENOTDIR reaches stat).
  assert.deepEqual(walkPath(root, '/d/f.txt/more'), {
    kind: 'file',
    filename: `${root}/d/f.txt`,
    exists: true,
    scriptName: '/d/f.txt',
    pathInfo: '/more',
  });
  assert.equal(findIndex(join(root, 'd'), [long, 'f.txt']), 'f.txt');
});
