"""What `init(tracing=True)` sets up and says, each case in an app process of its own (the
OpenTelemetry provider, the instrumentations and logging are process-wide): the line naming the
instrumentations, the instrumentations found as entry points, and the warning when the app sets
its own TracerProvider too late. The instrumentation outside phospho's list is a small package
written to disk here (with its dist-info and entry point, as pip would install it): the only
GenAI instrumentation installed in this environment, openai, is already in that list."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.support.kafka import consume

pytestmark = pytest.mark.integration

ANNOUNCED = "phospho: tracing enabled; instrumented: openai"
TOO_LATE = "Configure your TracerProvider before phospho.init(tracing=True)"


def run_app(broker, tmp_path: Path, body: str, prelude: str = "", pythonpath: Path | None = None) -> str:
    """Run an app script that calls init(tracing=True) (after `prelude`), then `body`; its stderr."""
    script = "\n".join([
        "import logging, phospho",
        textwrap.dedent(prelude),
        f"phospho.init(project_id='tracing-setup', bootstrap_servers='{broker.bootstrap}', "
        f"spool_dir='{tmp_path / 'spool'}', tracing=True)",
        textwrap.dedent(body),
        "assert phospho.flush(20)",
    ])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOSPHO_")}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=90, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def test_init_says_which_instrumentations_it_enabled_on_stderr(broker, tmp_path):
    stderr = run_app(broker, tmp_path, "")
    assert stderr.splitlines().count(ANNOUNCED) == 1, stderr


def test_an_app_that_configured_logging_gets_it_as_a_log_record(broker, tmp_path):
    stderr = run_app(broker, tmp_path, "", prelude="logging.basicConfig(level=logging.INFO, format='LOG %(name)s %(message)s')")
    lines = stderr.splitlines()
    assert lines.count(f"LOG phospho {ANNOUNCED}") == 1 and ANNOUNCED not in lines, stderr
    quiet = run_app(broker, tmp_path, "", prelude="logging.getLogger('phospho').setLevel(logging.WARNING)")
    assert "tracing enabled" not in quiet, quiet  # the app silenced phospho's INFO records


def test_a_tracer_provider_set_after_init_is_refused_and_phospho_says_so_once(broker, tmp_path):
    late = """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        ours = trace.get_tracer_provider()
        trace.set_tracer_provider(TracerProvider())
        trace.set_tracer_provider(TracerProvider())
        assert trace.get_tracer_provider() is ours
    """
    stderr = run_app(broker, tmp_path, late)
    assert stderr.count(TOO_LATE) == 1, stderr
    early = """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        trace.set_tracer_provider(TracerProvider())
    """
    stderr = run_app(broker, tmp_path, early, prelude=early)  # the app's provider came first: phospho kept it
    assert TOO_LATE not in stderr, stderr


def write_distribution(site: Path, name: str, version: str, module: str, code: str, summary: str,
                       requires: tuple[str, ...] = (), entry_point: str | None = None) -> None:
    """A package installed into `site` as pip would: the module and its dist-info."""
    (site / f"{module}.py").write_text(textwrap.dedent(code))
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    (info / "METADATA").write_text("\n".join(metadata + [f"Requires-Dist: {r}" for r in requires]) + "\n")
    if entry_point:
        (info / "entry_points.txt").write_text(f"[opentelemetry_instrumentor]\n{entry_point}\n")
    (info / "RECORD").write_text("")


INSTRUMENTOR = """
    from opentelemetry import trace
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
    import {lib}

    class Instrumentor(BaseInstrumentor):
        def instrumentation_dependencies(self):
            return ["{lib} >= 1.0"]

        def _instrument(self, **kwargs):
            tracer = trace.get_tracer(__name__, tracer_provider=kwargs.get("tracer_provider"))
            call = {lib}.call

            def traced(prompt):
                with tracer.start_as_current_span("{lib}.call", attributes={{"gen_ai.prompt.0.content": prompt}}):
                    return call(prompt)

            {lib}.call = traced
            {lib}.INSTRUMENTED = True

        def _uninstrument(self, **kwargs):
            pass
"""


def test_a_genai_instrumentation_outside_the_list_is_enabled_and_a_non_llm_one_is_not(broker, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    library = "INSTRUMENTED = False\ndef call(prompt):\n    return 'ok'\n"
    for lib in ("acmellm", "fakehttp"):
        write_distribution(site, lib, "1.0", lib, library, f"the {lib} client")
    write_distribution(site, "opentelemetry-instrumentation-acmellm", "0.1.0", "acmellm_otel", INSTRUMENTOR.format(lib="acmellm"),
                       "OpenTelemetry AcmeLLM instrumentation", requires=("opentelemetry-semantic-conventions-ai>=0.4",
                       "acmellm; extra == 'instruments'"), entry_point="acmellm = acmellm_otel:Instrumentor")
    write_distribution(site, "opentelemetry-instrumentation-fakehttp", "0.1.0", "fakehttp_otel", INSTRUMENTOR.format(lib="fakehttp"),
                       "OpenTelemetry fakehttp instrumentation", requires=("opentelemetry-util-http",),
                       entry_point="fakehttp = fakehttp_otel:Instrumentor")
    tag = uuid.uuid4().hex[:12]
    body = f"""
        import acmellm, fakehttp
        assert phospho.instrumentations == ("openai", "acmellm"), phospho.instrumentations
        assert acmellm.INSTRUMENTED and not fakehttp.INSTRUMENTED
        with phospho.tracer(task_id="acme-{tag}", session_id="s-{tag}"):
            acmellm.call("{tag} hello")
            phospho.log(input="hello", output="ok")
    """
    stderr = run_app(broker, tmp_path, body, pythonpath=site)
    assert "phospho: tracing enabled; instrumented: openai, acmellm" in stderr.splitlines(), stderr
    got = consume(broker.bootstrap, [broker.topics.spans], until=lambda rs: any(r["name"] == "acmellm.call" and
                  r["task_id"] == f"acme-{tag}" for _, r, _ in rs))
    [span] = [r for _, r, _ in got if r["task_id"] == f"acme-{tag}"]
    assert (span["name"], span["input_text"], span["link_method"]) == ("acmellm.call", f"{tag} hello", "context")
