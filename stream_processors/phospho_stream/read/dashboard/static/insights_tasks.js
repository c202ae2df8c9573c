// The insights drawn from the tasks (one request: per day, per model, per language): tasks and
// feedback over time, the LLM's verdicts, tokens and cost per model and per day, languages,
// sentiment.

import { barChart, chartCard, emptyCard, hbarChart } from "./charts.js";
import { fmtNum, fmtUsd, link } from "./dom.js";
import { cards } from "./widgets.js";

const share = (n, of) => (of ? `${fmtNum((100 * n) / of, 1)} %` : "—");
const usd = (v) => fmtUsd(v) || "$0";

function daily(days) {
  const labels = days.map((r) => r.day);
  const evaluated = days.some((r) => r.eval_success + r.eval_failure > 0);
  const feedback = [{ name: "success", values: days.map((r) => r.success), cls: "ok" },
    { name: "failure", values: days.map((r) => r.failure), cls: "ko" }];
  return [
    chartCard("Tasks per day", barChart(labels, [{ name: "tasks", values: days.map((r) => r.tasks) }]),
      [{ label: "Day", key: "day" }, { label: "Tasks", key: "tasks", num: true }, { label: "Tokens", key: "tokens", num: true }],
      days, "chart-tasks-per-day"),
    chartCard("Feedback over time", barChart(labels, feedback),
      [{ label: "Day", key: "day" }, { label: "Success", key: "success", num: true }, { label: "Failure", key: "failure", num: true },
        { label: "Success ratio", render: (r) => share(r.success, r.success + r.failure), num: true, csv: (r) => (r.success + r.failure ? r.success / (r.success + r.failure) : "") }],
      days, "chart-feedback"),
    evaluated ? chartCard("LLM evaluation over time", barChart(labels, [
      { name: "success", values: days.map((r) => r.eval_success), cls: "ok" },
      { name: "failure", values: days.map((r) => r.eval_failure), cls: "ko" }]),
    [{ label: "Day", key: "day" }, { label: "Success", key: "eval_success", num: true }, { label: "Failure", key: "eval_failure", num: true },
      { label: "Also flagged by users", key: "both_flagged", num: true }, { label: "Agreeing", key: "agreed", num: true }],
    days, "chart-evaluation")
      : emptyCard("LLM evaluation over time", "No task was evaluated by an LLM in these dates: the evaluation stage needs an "
        + "llm: section and evaluation.enabled in the project config.", "chart-evaluation"),
  ];
}

function costs(days, models) {
  const total = days.reduce((a, r) => a + r.cost, 0), unpriced = days.reduce((a, r) => a + r.unpriced, 0);
  return [
    cards([["Cost", usd(total), "insight-cost"], ["Tasks without a price", fmtNum(unpriced), "insight-unpriced"],
      ["Tasks analysed", fmtNum(days.reduce((a, r) => a + r.analysed_tasks, 0))]]),
    chartCard("Cost per day", barChart(days.map((r) => r.day), [{ name: "cost", values: days.map((r) => r.cost) }], { fmt: usd }),
      [{ label: "Day", key: "day" }, { label: "Cost (USD)", render: (r) => usd(r.cost), num: true, csv: (r) => r.cost },
        { label: "Tasks", key: "tasks", num: true }, { label: "Without a price", key: "unpriced", num: true }], days, "chart-cost-per-day"),
    chartCard("Cost per model", hbarChart(models.map((r) => [r.model_name, r.cost]), { valueLabel: "USD", fmt: usd }),
      [{ label: "Model", key: "model_name" }, { label: "Cost (USD)", render: (r) => usd(r.cost), num: true, csv: (r) => r.cost },
        { label: "Tasks", key: "tasks", num: true }, { label: "Without a price", key: "unpriced", num: true }],
      models, "chart-cost-per-model"),
    chartCard("Tokens per model", hbarChart(models.map((r) => [r.model_name, r.tokens]), { valueLabel: "tokens" }),
      [{ label: "Model", key: "model_name" }, { label: "Tasks", key: "tasks", num: true },
        { label: "Prompt", key: "prompt_tokens", num: true }, { label: "Completion", key: "completion_tokens", num: true },
        { label: "Total", key: "total_tokens", num: true }, { label: "In steps", key: "span_tokens", num: true }], models, "chart-models"),
  ];
}

function languages(rows) {
  const analysed = rows.filter((r) => r.lang !== "not analysed").reduce((a, r) => a + r.tasks, 0);
  return chartCard("Languages", hbarChart(rows.map((r) => [r.lang, r.tasks]), { valueLabel: "tasks" }),
    [{ label: "Language", render: (r) => link("tasks", { language: r.lang }, r.lang), csv: (r) => r.lang },
      { label: "Tasks", key: "tasks", num: true },
      { label: "Share of analysed", render: (r) => (r.lang === "not analysed" ? "" : share(r.tasks, analysed)), num: true,
        csv: (r) => (r.lang === "not analysed" || !analysed ? "" : r.tasks / analysed) },
      { label: "Mean sentiment", key: "sentiment_avg", num: true, digits: 2 }], rows, "chart-languages",
    { note: "the language of each task's input; unknown: too short or unclear to tell" });
}

const LABELS = [["positive", "ok"], ["neutral", "c6"], ["mixed", "c3"], ["negative", "ko"]];

function sentiment(days) {
  const totals = Object.fromEntries([...LABELS.map(([k]) => k), "not_scored"].map((k) => [k, days.reduce((a, r) => a + r[k], 0)]));
  const scored = LABELS.reduce((a, [k]) => a + totals[k], 0);
  const rows = [...LABELS.map(([k]) => ({ label: k, tasks: totals[k] })), { label: "not scored", tasks: totals.not_scored }];
  return [
    chartCard("Sentiment", hbarChart(rows.map((r) => [r.label, r.tasks]), { valueLabel: "tasks" }),
      [{ label: "Label", render: (r) => link("tasks", { sentiment: r.label === "not scored" ? "none" : r.label }, r.label), csv: (r) => r.label },
        { label: "Tasks", key: "tasks", num: true },
        { label: "Share of scored", render: (r) => (r.label === "not scored" ? "" : share(r.tasks, scored)), num: true,
          csv: (r) => (r.label === "not scored" || !scored ? "" : r.tasks / scored) }], rows, "chart-sentiment",
      { note: "VADER reads English only: other languages are not scored" }),
    chartCard("Sentiment over time", barChart(days.map((r) => r.day), LABELS.map(([k, cls]) => ({ name: k, values: days.map((r) => r[k]), cls }))),
      [{ label: "Day", key: "day" }, ...LABELS.map(([k]) => ({ label: k, key: k, num: true })),
        { label: "Mean score", key: "sentiment_avg", num: true, digits: 2 }], days, "chart-sentiment-per-day"),
  ];
}

export function taskInsights(d) {
  return [...daily(d.days), ...costs(d.days, d.models), languages(d.languages), ...sentiment(d.days)];
}
