// Checks KQL with Microsoft's Kusto language service (@kusto/language-service-next), the
// parser and semantic analyser behind Azure Data Explorer's and Log Analytics' editors.
//
// Input (stdin, JSON): { "tables": { "<Table>": { "<Column>": "<type>", ... }, ... },
//                        "queries": [ { "name": "...", "query": "...", "outputs": ["Col", ...] } ] }
// Every query is parsed AND analysed against a database holding exactly the declared tables,
// so an unknown table or column, a wrong function or a type error is reported, not only bad
// syntax. `outputs` (optional) lists columns the query's result must have (entity mappings).
// Output: one line per problem, `<name>: <code> <message> at <line>:<col> near '<text>'`,
// then a summary line. Exit 0 when every query is clean, 1 otherwise, 2 on bad input.
'use strict';

let Kusto;
try {
  require('@kusto/language-service-next/bridge.js');
  require('@kusto/language-service-next/Kusto.Language.Bridge.js');
  Kusto = global.Kusto;
} catch (e) {
  console.error(`cannot load @kusto/language-service-next (run 'npm ci' in tests/kusto): ${e.message}`);
  process.exit(2);
}
const L = Kusto.Language;
const S = L.Symbols;

function globalsFor(tables) {
  const symbols = Object.entries(tables).map(([name, columns]) => {
    const schema = '(' + Object.entries(columns).map(([c, t]) => `['${c}']:${t}`).join(', ') + ')';
    return S.TableSymbol.From(schema).WithName(name);
  });
  const db = new S.DatabaseSymbol.$ctor2('casefile', null, symbols);
  const cluster = new S.ClusterSymbol.ctor('casefile', [db]);
  return L.GlobalState.Default.WithCluster(cluster).WithDatabase(db);
}

function position(text, offset) {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

function resultColumns(code) {
  const t = code.ResultType;
  if (!t || !t.Columns) return null;
  const names = [];
  for (let i = 0; i < t.Columns.Count; i++) names.push(t.Columns.getItem(i).Name);
  return names;
}

function check(globals, q) {
  const problems = [];
  const code = L.KustoCode.ParseAndAnalyze(q.query, globals);
  const diags = code.GetDiagnostics();
  for (let i = 0; i < diags.Count; i++) {
    const d = diags.getItem(i);
    if (String(d.Severity) !== 'Error') continue;
    const near = q.query.substr(d.Start, Math.max(d.Length, 1)).replace(/\s+/g, ' ');
    problems.push(`${d.Code} ${d.Message} at ${position(q.query, d.Start)} near '${near}'`);
  }
  if (problems.length === 0 && Array.isArray(q.outputs)) {
    const cols = resultColumns(code);
    for (const want of q.outputs) {
      if (!cols || !cols.includes(want)) {
        problems.push(`result has no column '${want}' (columns: ${cols ? cols.join(', ') : 'none'})`);
      }
    }
  }
  return problems;
}

function main() {
  let input;
  try {
    input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  } catch (e) {
    console.error(`bad input: ${e.message}`);
    process.exit(2);
  }
  const globals = globalsFor(input.tables);
  let failed = 0;
  for (const q of input.queries) {
    const problems = check(globals, q);
    for (const p of problems) console.log(`${q.name}: ${p}`);
    if (problems.length) failed++;
  }
  console.log(`kusto: ${input.queries.length - failed} clean, ${failed} with errors`);
  process.exit(failed ? 1 : 0);
}

main();
