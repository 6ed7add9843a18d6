// The in-flight board (issue 9 item 12): what a thread registers is what the supervisor reads
// back after the thread died, slots are reused, a full board counts the rest, a frozen board
// keeps its state while the crashing thread closes its sockets.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  InFlightBoard,
  clearBoard,
  readBoard,
  HEADER_BYTES,
  NAMES,
  NAME_BYTES,
  SLOT_BYTES,
} from '../../src/front/in-flight.js';

/** A slot's room for the request id and for the target (the slot less its fixed fields). */
const ID_ROOM = 48;
const TARGET_ROOM = SLOT_BYTES - 84;
const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe('InFlightBoard', () => {
  test('a request registered is read back with its id, method, target and backend; a finished one is gone', () => {
    const buffer = InFlightBoard.allocate(8);
    assert.equal(buffer.byteLength, HEADER_BYTES + NAMES * NAME_BYTES + 8 * SLOT_BYTES);
    const board = new InFlightBoard(buffer);
    const t0 = Math.floor(Date.now() / 1000);
    const a = board.enter('Xk3_aQ9b-h', 'GET', '/slow', 'ms=1000');
    const b = board.enter('Xk3_aQ9b-i', 'POST', '/upload.php', '');
    board.setBackend(a, 'fcgi://127.0.0.1:9000/');
    assert.equal(board.inFlight, 2);
    board.leave(b);
    const { lost, unlisted } = readBoard(buffer);
    assert.equal(unlisted, 0);
    assert.equal(lost.length, 1);
    const r = lost[0]!;
    assert.deepEqual(
      { ...r, startedAt: 0 },
      {
        id: 'Xk3_aQ9b-h',
        idCut: false,
        method: 'GET',
        target: '/slow?ms=1000',
        cut: false,
        backend: 'fcgi://127.0.0.1:9000/',
        startedAt: 0,
      },
    );
    // The board's clock is moved by a 1 s timer: within a couple of seconds of now.
    assert.ok(Math.abs(r.startedAt - t0) <= 2, `${r.startedAt} vs ${t0}`);
  });

  test('methods with a code and without; backends by name table, shared by slots', () => {
    const buffer = InFlightBoard.allocate(8);
    const board = new InFlightBoard(buffer);
    const methods = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND'];
    methods.forEach((m, i) => {
      const s = board.enter(`r-${i}`, m, '/m', '');
      board.setBackend(s, i % 2 === 0 ? 'fcgi://a/' : 'fcgi://b/');
    });
    const lost = readBoard(buffer).lost.sort(byId);
    assert.deepEqual(
      lost.map((l) => l.method),
      methods,
    );
    assert.deepEqual(
      lost.map((l) => l.backend),
      methods.map((_, i) => (i % 2 === 0 ? 'fcgi://a/' : 'fcgi://b/')),
    );
  });

  test('slots are reused, last freed first; a full board counts what it cannot list', () => {
    const buffer = InFlightBoard.allocate(2);
    const board = new InFlightBoard(buffer);
    const s0 = board.enter('1', 'GET', '/a', '');
    const s1 = board.enter('2', 'GET', '/b', '');
    assert.deepEqual([s0, s1], [0, 1]);
    assert.equal(board.enter('3', 'GET', '/c', ''), -1);
    assert.equal(board.enter('4', 'GET', '/d', ''), -1);
    assert.equal(readBoard(buffer).unlisted, 2);
    assert.equal(board.inFlight, 4);
    board.leave(-1);
    board.leave(s0);
    assert.equal(readBoard(buffer).unlisted, 1);
    assert.deepEqual(
      readBoard(buffer).lost.map((l) => l.id),
      ['2'],
    );
    assert.equal(board.enter('5', 'GET', '/e', ''), 0);
    assert.deepEqual(
      readBoard(buffer)
        .lost.map((l) => l.id)
        .sort(),
      ['2', '5'],
    );
  });

  test('long targets and ids are cut to the slot and marked; a long method or backend is cut too; latin-1 bytes are kept', () => {
    const buffer = InFlightBoard.allocate(4);
    const board = new InFlightBoard(buffer);
    board.enter('a', 'GET', '/' + 'p'.repeat(300), 'q=1');
    const s = board.enter('b' + 'i'.repeat(199), 'PROPFINDVERYLONGMETHODNAME', '/caf\u00e9', 'x=%C3%A9');
    board.setBackend(s, 'unix:/run/php/' + 's'.repeat(200) + '.sock|fcgi://localhost/');
    board.enter('c', 'GET', '/' + 'x'.repeat(TARGET_ROOM - 3), 'abc'); // the path fits, the query only in part
    const [a, b, c] = readBoard(buffer).lost.sort(byId);
    assert.equal(a!.target, '/' + 'p'.repeat(TARGET_ROOM - 1));
    assert.equal(a!.cut, true);
    assert.equal(a!.idCut, false);
    assert.equal(b!.target, '/caf\u00e9?x=%C3%A9');
    assert.equal(b!.cut, false);
    assert.equal(b!.id, 'b' + 'i'.repeat(ID_ROOM - 1));
    assert.equal(b!.idCut, true);
    assert.equal(b!.method, 'PROPFINDVERYLONG');
    assert.equal(b!.backend.length, NAME_BYTES - 1);
    assert.equal(c!.target, '/' + 'x'.repeat(TARGET_ROOM - 3) + '?a');
    assert.equal(c!.cut, true);
  });

  test('every slot, the last one included, stays inside its bounds; a full name table leaves the backend out', () => {
    const n = 3;
    const buffer = InFlightBoard.allocate(n);
    const board = new InFlightBoard(buffer);
    for (let i = 0; i < n; i++) board.enter(`${i}`.repeat(60), 'GET', '/' + 'z'.repeat(TARGET_ROOM + 10), 'q');
    for (let i = 0; i < NAMES; i++) board.setBackend(0, `fcgi://host-${i}/`);
    board.setBackend(1, 'fcgi://one-too-many/');
    const lost = readBoard(buffer).lost.sort(byId);
    assert.equal(lost.length, n);
    lost.forEach((l, i) => {
      assert.equal(l.target, '/' + 'z'.repeat(TARGET_ROOM - 1));
      assert.equal(l.id, `${i}`.repeat(ID_ROOM));
    });
    assert.equal(lost[0]!.backend, `fcgi://host-${NAMES - 1}/`);
    assert.equal(lost[1]!.backend, '');
  });

  test('freeze(): completions after it change nothing; clearBoard empties for the next thread', () => {
    const buffer = InFlightBoard.allocate(4);
    const board = new InFlightBoard(buffer);
    const s = board.enter('9', 'GET', '/x', '');
    board.setBackend(s, 'fcgi://x/');
    board.enter('10', 'GET', '/y', '');
    board.freeze();
    board.leave(s);
    assert.equal(readBoard(buffer).lost.length, 2);
    clearBoard(buffer);
    assert.deepEqual(readBoard(buffer), { lost: [], unlisted: 0 });
    const next = new InFlightBoard(buffer);
    assert.equal(next.slots, 4);
    next.setBackend(next.enter('1', 'GET', '/z', ''), 'fcgi://z/');
    assert.equal(readBoard(buffer).lost[0]!.backend, 'fcgi://z/');
  });
});
