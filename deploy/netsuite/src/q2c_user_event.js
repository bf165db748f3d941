/**
 * q2c user-event script: posts NetSuite record changes to the q2c gateway, signed.
 *
 * NetSuite has no record webhooks; afterSubmit is the documented hook for "syncing with an
 * external system" (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_4407992281.html).
 * Deploy it on job, timebill, expensereport, invoice and customerpayment.
 *
 * Script parameters:
 *   custscript_q2c_gateway_url  https://<gateway>/ingest/netsuite
 *   custscript_q2c_secret_id    script id of an API secret (Setup > Company > API Secrets)
 *                               holding the same value as Q2C_CONNECTOR_NETSUITE_HMAC_SECRET
 *
 * Body: {eventId, account, recordType, recordId, eventType, occurredAt, changed[], record{}}.
 * Header: X-Q2C-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
 * eventId is stable for one change (type, id, event type, last-modified time), so a retried
 * POST is recognised by q2c as the same delivery.
 *
 * @NApiVersion 2.1
 * @NScriptType UserEventScript
 * @NModuleScope SameAccount
 */
define(['N/https', 'N/crypto', 'N/encode', 'N/runtime', 'N/search', 'N/log'], (
  https,
  crypto,
  encode,
  runtime,
  search,
  log,
) => {
  // Event types worth sending; view/print/email and friends change nothing.
  const RELEVANT = new Set(['create', 'edit', 'xedit', 'approve', 'delete', 'cancel', 'reject']);
  const ATTEMPTS = 3;

  const FIELDS = {
    job: ['entityid', 'companyname', 'customer', 'entitystatus', 'startdate', 'projectedenddate',
      'custentity_q2c_deal_id'],
    timebill: ['employee', 'customer', 'item', 'hours', 'trandate', 'approvalstatus', 'memo'],
    expensereport: ['entity', 'trandate', 'approvalstatus', 'memo'],
    invoice: ['tranid', 'entity', 'job', 'total', 'trandate', 'duedate', 'externalid',
      'custbody_q2c_invoice_reference', 'custbody_q2c_deal_id'],
    customerpayment: ['tranid', 'customer', 'payment', 'trandate'],
  };
  // Select (list/record) fields go out as {value, text}.
  const SELECTS = new Set(['customer', 'entitystatus', 'employee', 'item', 'approvalstatus',
    'entity', 'job', 'category']);
  // Sublists: NetSuite sublist id -> payload name and the line fields sent.
  const SUBLISTS = {
    invoice: { id: 'item', name: 'lines', fields: ['item', 'description', 'quantity', 'rate', 'amount'] },
    expensereport: { id: 'expense', name: 'lines', fields: ['category', 'amount', 'customer', 'expensedate', 'memo'] },
    customerpayment: { id: 'apply', name: 'applied', fields: ['doc', 'amount', 'apply'] },
  };
  const HAS_CURRENCY = new Set(['invoice', 'expensereport', 'customerpayment']);

  const pad = (n) => String(n).padStart(2, '0');
  const isoDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

  function plain(value) {
    if (value === null || value === undefined || value === '') return null;
    if (value instanceof Date) return isoDate(value);
    // Numbers as text: q2c reads money as decimals and never through a float.
    if (typeof value === 'number') return String(value);
    return value;
  }

  function fieldValue(rec, fieldId) {
    const value = plain(rec.getValue({ fieldId }));
    if (!SELECTS.has(fieldId)) return value;
    return { value: value === null ? null : String(value), text: rec.getText({ fieldId }) || null };
  }

  function lineValue(rec, sublistId, fieldId, line) {
    const value = plain(rec.getSublistValue({ sublistId, fieldId, line }));
    if (!SELECTS.has(fieldId)) return value;
    const text = rec.getSublistText({ sublistId, fieldId, line });
    return { value: value === null ? null : String(value), text: text || null };
  }

  function currencyIso(rec) {
    const id = rec.getValue({ fieldId: 'currency' });
    if (!id) return null;
    return search.lookupFields({ type: search.Type.CURRENCY, id, columns: ['symbol'] }).symbol;
  }

  function lines(rec, recordType) {
    const spec = SUBLISTS[recordType];
    if (!spec) return null;
    const out = [];
    const count = rec.getLineCount({ sublistId: spec.id });
    for (let line = 0; line < count; line += 1) {
      const item = { lineId: `${rec.id}-${line + 1}` };
      for (const fieldId of spec.fields) item[fieldId] = lineValue(rec, spec.id, fieldId, line);
      // A payment lists every open invoice; only the applied ones matter.
      if (recordType === 'customerpayment' && item.apply !== true && item.apply !== 'T') continue;
      out.push(item);
    }
    return [spec.name, out];
  }

  function changedFields(newRec, oldRec, fields) {
    if (!oldRec) return [];
    return fields.filter((fieldId) => {
      const a = plain(newRec.getValue({ fieldId }));
      const b = plain(oldRec.getValue({ fieldId }));
      return JSON.stringify(a) !== JSON.stringify(b);
    });
  }

  /** The payload for one afterSubmit context (pure apart from the currency lookup). */
  function buildPayload(context, now) {
    const rec = context.newRecord;
    const recordType = rec.type;
    const fields = FIELDS[recordType] || [];
    const record = {};
    for (const fieldId of fields) record[fieldId] = fieldValue(rec, fieldId);
    if (HAS_CURRENCY.has(recordType)) record.currencyIso = currencyIso(rec);
    const sublist = lines(rec, recordType);
    if (sublist) record[sublist[0]] = sublist[1];
    const modified = rec.getValue({ fieldId: 'lastmodifieddate' });
    const stamp = modified instanceof Date ? modified : now;
    return {
      eventId: `${recordType}:${rec.id}:${context.type}:${stamp.getTime()}`,
      account: runtime.accountId,
      recordType,
      recordId: String(rec.id),
      eventType: context.type,
      occurredAt: stamp.toISOString(),
      changed: changedFields(rec, context.oldRecord, fields),
      record,
    };
  }

  /** X-Q2C-Signature for `body` at `timestamp` (seconds), with the API secret. */
  function sign(body, timestamp, secretId) {
    const key = crypto.createSecretKey({ secret: secretId, encoding: encode.Encoding.UTF_8 });
    const hmac = crypto.createHmac({ algorithm: crypto.HashAlg.SHA256, key });
    hmac.update({ input: `${timestamp}.${body}`, inputEncoding: encode.Encoding.UTF_8 });
    return `t=${timestamp},v1=${hmac.digest({ outputEncoding: encode.Encoding.HEX })}`;
  }

  function afterSubmit(context) {
    if (!RELEVANT.has(context.type)) return;
    const script = runtime.getCurrentScript();
    const url = script.getParameter({ name: 'custscript_q2c_gateway_url' });
    const secretId = script.getParameter({ name: 'custscript_q2c_secret_id' });
    const payload = buildPayload(context, new Date());
    const body = JSON.stringify(payload);
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      // A fresh timestamp per attempt: q2c refuses signatures older than its tolerance.
      const headers = {
        'Content-Type': 'application/json',
        'X-Q2C-Signature': sign(body, Math.floor(Date.now() / 1000), secretId),
      };
      const response = https.post({ url, body, headers });
      if (response.code >= 200 && response.code < 300) return;
      // 401 will not get better by retrying; 503 (Kafka unavailable) and 5xx may.
      if (response.code < 500) break;
    }
    // afterSubmit runs after the record is saved: failing here cannot undo it, so the
    // event id is logged for an operator to re-send (edit the record, or a scheduled resend).
    log.error({ title: 'q2c gateway did not accept the event', details: payload.eventId });
  }

  return { afterSubmit, buildPayload, sign };
});
