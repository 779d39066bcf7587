// The coordinator dashboard: reads the read-only JSON API (/api/...) and renders it with textContent only.
"use strict";
const header = { "X-Federated-Dashboard": "1" };
let me = null;
let selectedJob = null;
let jobsTimer = null;

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options, headers: { ...header, ...(options.headers || {}) } });
  if (response.status === 401) { showLogin(); throw new Error("unauthorized"); }
  return response;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "—" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fill(tableId, items, render) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    render(row, item);
    body.appendChild(row);
  }
}

const time = (t) => t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : null;
const number = (x, digits = 3) => x === null || x === undefined ? null : Number(x).toFixed(digits).replace(/\.?0+$/, "");
function bytes(b) {
  if (b === null || b === undefined) return null;
  const units = ["B", "KiB", "MiB", "GiB"]; let i = 0; let v = b;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function showLogin() {
  $("board").hidden = true; $("who").hidden = true; $("login").hidden = false;
  if (jobsTimer) { clearInterval(jobsTimer); jobsTimer = null; }
}

async function start() {
  const response = await fetch("/api/me", { credentials: "same-origin" });
  if (response.status !== 200) { showLogin(); return; }
  me = await response.json();
  $("login").hidden = true; $("board").hidden = false; $("who").hidden = false;
  $("who-name").textContent = me.name; $("who-role").textContent = me.role;
  $("rollback-note").hidden = me.canRollback;
  await Promise.all([parties(), jobs(), schedules(), privacy(), models(), audit()]);
  jobsTimer = setInterval(() => { jobs().catch(() => {}); }, 1000);
  setInterval(() => { parties().catch(() => {}); }, 5000);
}

async function parties() {
  const view = await (await api("/api/parties")).json();
  fill("parties", [view.coordinator, ...view.parties], (row, p) => {
    row.dataset.partyId = p.partyId;
    cell(row, p.partyId); cell(row, p.role);
    cell(row, p.revoked ? "revoked" : p.online ? "online" : "offline", p.online ? "online" : "offline");
    cell(row, time(p.lastSeen)); cell(row, p.certificateSubject);
    cell(row, p.certificateNotAfter ? `${time(p.certificateNotAfter)} (${p.certificateDaysLeft} days)` : null);
    cell(row, p.fingerprint.slice(0, 16) + "…", "mono").title = p.fingerprint;
    cell(row, p.jobKinds.join(", "));
  });
}

async function jobs() {
  const list = await (await api("/api/jobs")).json();
  fill("jobs", list, (row, j) => {
    row.dataset.jobId = j.jobId;
    row.dataset.state = j.state;
    if (j.jobId === selectedJob) row.className = "selected";
    const p = j.progress;
    cell(row, j.jobId, "mono"); cell(row, j.kind); cell(row, j.state, "state");
    cell(row, p ? p.phase : null, "phase"); cell(row, p ? p.step : null, "step");
    cell(row, p ? p.messageType : null, "message-type");
    cell(row, j.messagesRelayed, "messages");
    cell(row, p ? `${number(p.messagesPerSecond, 1)} msg/s, ${bytes(Math.round(p.bytesPerSecond))}/s` : null, "throughput");
    cell(row, null, "loss").title = "M keeps the training loss; the finished run shows the final loss M published with its model version";
    cell(row, time(j.created));
    row.addEventListener("click", () => { selectedJob = j.jobId; detail(); });
  });
  $("jobs-updated").textContent = "updated " + new Date().toISOString().slice(11, 19) + "Z";
  const running = list.find((j) => j.jobId === selectedJob && !["Completed", "Failed", "Stopped"].includes(j.state));
  if (running || (selectedJob && $("detail-state").textContent !== (list.find((j) => j.jobId === selectedJob) || {}).state)) await detail();
}

async function detail() {
  if (!selectedJob) return;
  const response = await api("/api/jobs/" + encodeURIComponent(selectedJob));
  if (response.status !== 200) return;
  const d = await response.json();
  $("job-detail").hidden = false;
  $("detail-job").textContent = d.job.jobId;
  $("detail-state").textContent = d.job.state;
  $("detail-problem").hidden = !d.reportProblem; $("detail-problem").textContent = d.reportProblem || "";
  fill("metrics", d.metrics, (row, m) => { row.dataset.metric = m.name; cell(row, m.name); cell(row, m.value); cell(row, m.source, "note"); });
  const plots = $("plots");
  const wanted = d.job.state === "Running" ? [] : d.plots;
  if (plots.dataset.for !== d.job.jobId + d.job.state) {
    plots.replaceChildren();
    for (const src of wanted) {
      const img = document.createElement("img");
      img.src = src; img.alt = src.split("/").pop(); img.className = "plot";
      plots.appendChild(img);
    }
    plots.dataset.for = d.job.jobId + d.job.state;
  }
  fill("reports", d.partyReports, (row, r) => { cell(row, r.index); cell(row, time(r.time)); cell(row, r.partyId); cell(row, r.state); cell(row, r.summary); });
}

async function schedules() {
  const view = await (await api("/api/schedules")).json();
  const rounds = [];
  fill("schedules", view, (row, d) => {
    row.dataset.definition = d.name;
    cell(row, d.name); cell(row, d.kind); cell(row, d.musicPartyId + " / " + d.externalPartyId); cell(row, d.schedule || "on demand", "mono");
    cell(row, d.misfire); cell(row, d.enabled ? "yes" : "no"); cell(row, d.nextSlot ? time(d.nextSlot) : "—");
    for (const r of d.runs) rounds.push(Object.assign({ definition: d.name }, r));
  });
  fill("rounds", rounds, (row, r) => {
    row.dataset.run = r.runId;
    cell(row, r.definition); cell(row, r.runId, "mono"); cell(row, r.trigger); cell(row, r.slot ? time(r.slot) : "—"); cell(row, r.state);
    cell(row, r.jobId || "—", "mono"); cell(row, r.reason); cell(row, r.finished ? time(r.finished) : "—");
  });
}

async function privacy() {
  const view = await (await api("/api/privacy")).json();
  fill("privacy", view.partners, (row, p) => {
    row.dataset.partner = p.externalPartyId;
    cell(row, p.externalPartyId); cell(row, p.budget === null ? "not limited" : number(p.budget));
    cell(row, number(p.charged)); cell(row, number(p.reserved)); cell(row, p.left === null ? "—" : number(p.left));
  });
  fill("privacy-entries", view.entries, (row, e) => {
    cell(row, e.key, "mono"); cell(row, e.musicPartyId); cell(row, e.externalPartyId); cell(row, e.firstJob, "mono");
    cell(row, e.cap === null ? "none" : number(e.cap)); cell(row, number(e.spent)); cell(row, e.delta); cell(row, e.state); cell(row, time(e.updated));
  });
}

async function models() {
  const view = await (await api("/api/models")).json();
  $("models-problem").hidden = !view.problem; $("models-problem").textContent = view.problem || "";
  fill("models", view.versions, (row, v) => {
    row.dataset.version = v.version;
    cell(row, v.version); cell(row, v.current ? "serving" : ""); cell(row, v.trainingJob); cell(row, v.round); cell(row, v.created);
    cell(row, v.items); cell(row, v.users);
    cell(row, Object.entries(v.metrics).map(([k, x]) => `${k} ${number(x, 4)}`).join(", "));
    const actions = cell(row, "");
    if (me.canRollback && !v.current) {
      const button = document.createElement("button");
      button.type = "button"; button.className = "rollback"; button.textContent = "Roll back to " + v.version;
      button.addEventListener("click", () => rollback(v.version));
      actions.appendChild(button);
    }
  });
}

async function rollback(version) {
  const response = await api("/api/models/rollback", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ version }) });
  const body = await response.json();
  $("rollback-result").hidden = false;
  $("rollback-result").textContent = response.ok ? `M now serves ${body.version}` : `refused (${response.status}): ${body.error || ""}`;
  await models();
}

async function audit() {
  const q = $("audit-q").value;
  const view = await (await api("/api/audit?max=200" + (q ? "&q=" + encodeURIComponent(q) : ""))).json();
  $("audit-count").textContent = `${view.matched} of ${view.total} records match; the last ${view.records.length} shown, newest first`;
  fill("audit", view.records, (row, r) => {
    cell(row, r.index); cell(row, time(r.time)); cell(row, r.kind); cell(row, r.jobId, "mono"); cell(row, r.messageType);
    cell(row, r.sender ? `${r.sender} → ${r.receiver}` : null); cell(row, r.sequence); cell(row, r.payloadBytes);
    cell(row, r.details, "mono"); cell(row, r.hash.slice(0, 12) + "…", "mono").title = r.hash;
  });
}

async function verify() {
  $("audit-verify-result").textContent = "verifying…"; $("audit-verify-result").className = "";
  const v = await (await api("/api/audit/verify", { method: "POST" })).json();
  $("audit-verify-result").textContent = v.isValid
    ? `chain valid: ${v.recordsChecked} records, head ${v.headHash ? v.headHash.slice(0, 12) + "…" : "(empty)"}`
    : `chain BROKEN at record ${v.firstBadIndex}: ${v.problem}`;
  $("audit-verify-result").className = v.isValid ? "ok" : "bad";
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch("/api/session", { method: "POST", credentials: "same-origin",
      headers: { ...header, "Content-Type": "application/json" }, body: JSON.stringify({ token: $("token").value }) });
    $("token").value = "";
    if (response.ok) { $("login-error").hidden = true; await start(); }
    else { $("login-error").hidden = false; $("login-error").textContent = "That token was refused."; }
  });
  $("logout").addEventListener("click", async () => { await fetch("/api/session", { method: "DELETE", headers: header, credentials: "same-origin" }); location.reload(); });
  $("audit-form").addEventListener("submit", (event) => { event.preventDefault(); audit(); });
  $("audit-verify").addEventListener("click", () => { verify(); });
  start();
});
