// Unit tests of the user-event script with Jest and hand-written stubs of the N/* modules
// (the same approach as @oracle/suitecloud-unit-testing, without a SuiteCloud project).
const fs = require('fs');
const path = require('path');
const nodeCrypto = require('crypto');

const SECRET_ID = 'custsecret_q2c';
const SECRET = 'ns-shared-secret';
const URL = 'http://127.0.0.1:8081/ingest/netsuite';

function load(stubs) {
  const source = fs.readFileSync(path.join(__dirname, '..', 'src', 'q2c_user_event.js'), 'utf8');
  let exported;
  const define = (deps, factory) => {
    exported = factory(...deps.map((d) => stubs[d]));
  };
  new Function('define', source)(define);
  return exported;
}

function stubs({ codes = [200] } = {}) {
  const posts = [];
  const errors = [];
  const responses = [...codes];
  return {
    posts,
    errors,
    'N/https': { post: (req) => { posts.push(req); return { code: responses.shift() ?? 200 }; } },
    'N/crypto': {
      HashAlg: { SHA256: 'SHA256' },
      createSecretKey: ({ secret }) => ({ secret }),
      createHmac: ({ algorithm, key }) => {
        expect(algorithm).toBe('SHA256');
        const value = key.secret === SECRET_ID ? SECRET : 'wrong';
        const hmac = nodeCrypto.createHmac('sha256', value);
        return {
          update: ({ input }) => hmac.update(input, 'utf8'),
          digest: ({ outputEncoding }) => { expect(outputEncoding).toBe('HEX'); return hmac.digest('hex'); },
        };
      },
    },
    'N/encode': { Encoding: { UTF_8: 'UTF_8', HEX: 'HEX' } },
    'N/runtime': {
      accountId: 'TSTDRV1234567',
      getCurrentScript: () => ({
        getParameter: ({ name }) => ({ custscript_q2c_gateway_url: URL, custscript_q2c_secret_id: SECRET_ID })[name],
      }),
    },
    'N/search': {
      Type: { CURRENCY: 'currency' },
      lookupFields: ({ type, id }) => { expect(type).toBe('currency'); return { symbol: { 1: 'EUR', 2: 'USD' }[id] }; },
    },
    'N/log': { error: (e) => errors.push(e) },
  };
}

function record(type, id, values, texts = {}, sublists = {}) {
  return {
    type,
    id,
    getValue: ({ fieldId }) => values[fieldId],
    getText: ({ fieldId }) => texts[fieldId],
    getLineCount: ({ sublistId }) => (sublists[sublistId] || []).length,
    getSublistValue: ({ sublistId, fieldId, line }) => sublists[sublistId][line][fieldId],
    getSublistText: ({ sublistId, fieldId, line }) => (sublists[sublistId][line].texts || {})[fieldId],
  };
}

const MODIFIED = new Date(Date.UTC(2026, 1, 3, 17, 0, 0));

function timebill(status) {
  return record('timebill', 99001,
    { employee: 301, customer: 4711, item: 55, hours: 7.5, trandate: new Date(2026, 1, 2), approvalstatus: status, memo: 'Workshop', lastmodifieddate: MODIFIED },
    { employee: 'Ada Lovelace', customer: 'Acme rollout', item: 'Senior Consultant', approvalstatus: status === 3 ? 'Approved' : 'Pending Approval' });
}

test('a timebill approval carries the documented field ids, selects as {value, text}, the changed fields', () => {
  const script = load(stubs());
  const payload = script.buildPayload({ type: 'approve', newRecord: timebill(3), oldRecord: timebill(1) }, new Date());
  expect(payload).toEqual({
    eventId: `timebill:99001:approve:${MODIFIED.getTime()}`,
    account: 'TSTDRV1234567',
    recordType: 'timebill',
    recordId: '99001',
    eventType: 'approve',
    occurredAt: '2026-02-03T17:00:00.000Z',
    changed: ['approvalstatus'],
    record: {
      employee: { value: '301', text: 'Ada Lovelace' },
      customer: { value: '4711', text: 'Acme rollout' },
      item: { value: '55', text: 'Senior Consultant' },
      hours: '7.5',
      trandate: '2026-02-02',
      approvalstatus: { value: '3', text: 'Approved' },
      memo: 'Workshop',
    },
  });
});

test('the event id is the same for a retried event and differs for the next change', () => {
  const script = load(stubs());
  const ctx = { type: 'approve', newRecord: timebill(3), oldRecord: timebill(1) };
  expect(script.buildPayload(ctx, new Date(1)).eventId).toBe(script.buildPayload(ctx, new Date(2)).eventId);
  const later = timebill(3);
  const values = { lastmodifieddate: new Date(MODIFIED.getTime() + 1000) };
  const next = { ...later, getValue: ({ fieldId }) => values[fieldId] ?? later.getValue({ fieldId }) };
  expect(script.buildPayload({ ...ctx, newRecord: next }, new Date()).eventId).not.toBe(script.buildPayload(ctx, new Date()).eventId);
});

test('an invoice sends its lines, amounts as text and the currency ISO code', () => {
  const script = load(stubs());
  const invoice = record('invoice', 88003,
    { tranid: 'INV-1042', entity: 812, job: 4711, total: 50000.25, currency: 1, trandate: new Date(2026, 2, 31), duedate: new Date(2026, 3, 30), custbody_q2c_invoice_reference: 'deal-7:invoice:M1' },
    { entity: 'Acme GmbH', job: 'Acme rollout' },
    { item: [{ item: 90, description: 'Milestone M1', quantity: 1, rate: 50000.25, amount: 50000.25, texts: { item: 'Milestone billing' } }] });
  const payload = script.buildPayload({ type: 'create', newRecord: invoice }, MODIFIED);
  expect(payload.record.currencyIso).toBe('EUR');
  expect(payload.record.total).toBe('50000.25');
  expect(payload.record.lines).toEqual([
    { lineId: '88003-1', item: { value: '90', text: 'Milestone billing' }, description: 'Milestone M1', quantity: '1', rate: '50000.25', amount: '50000.25' },
  ]);
  expect(payload.changed).toEqual([]);
});

test('a customer payment lists only the invoices it is applied to', () => {
  const script = load(stubs());
  const payment = record('customerpayment', 91004, { payment: 100, currency: 2 }, {},
    { apply: [{ doc: 88003, amount: 60, apply: true }, { doc: 88004, amount: 0, apply: false }, { doc: 88005, amount: 40, apply: 'T' }] });
  const applied = script.buildPayload({ type: 'create', newRecord: payment }, MODIFIED).record.applied;
  expect(applied.map((a) => a.doc)).toEqual(['88003', '88005']);
});

test('afterSubmit posts the body signed as HMAC-SHA256 over "<t>.<body>"', () => {
  const s = stubs();
  const script = load(s);
  script.afterSubmit({ type: 'approve', newRecord: timebill(3), oldRecord: timebill(1) });
  expect(s.posts).toHaveLength(1);
  const [post] = s.posts;
  expect(post.url).toBe(URL);
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(post.headers['X-Q2C-Signature']);
  expect(match).not.toBeNull();
  const expected = nodeCrypto.createHmac('sha256', SECRET).update(`${match[1]}.${post.body}`).digest('hex');
  expect(match[2]).toBe(expected);
  expect(JSON.parse(post.body).recordType).toBe('timebill');
});

test('a 503 is retried with the same event; a 401 is not, and is logged', () => {
  const retried = stubs({ codes: [503, 200] });
  load(retried).afterSubmit({ type: 'create', newRecord: timebill(1) });
  expect(retried.posts).toHaveLength(2);
  expect(JSON.parse(retried.posts[0].body).eventId).toBe(JSON.parse(retried.posts[1].body).eventId);
  expect(retried.errors).toEqual([]);

  const refused = stubs({ codes: [401, 200] });
  load(refused).afterSubmit({ type: 'create', newRecord: timebill(1) });
  expect(refused.posts).toHaveLength(1);
  expect(refused.errors).toHaveLength(1);
});

test('views, prints and emails send nothing', () => {
  const s = stubs();
  const script = load(s);
  for (const type of ['view', 'print', 'email', 'copy']) script.afterSubmit({ type, newRecord: timebill(1) });
  expect(s.posts).toEqual([]);
});
