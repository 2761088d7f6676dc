"""``uproar demo``: one full monitoring pass on the bundled sample sources.

Starts a local sample source and a local Slack-compatible server, writes the demo's
config with their addresses, runs the ``monitor`` flow and prints what happened. The
database lives in the state folder, so a second run finds nothing new and says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from string import Template

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from alerts.local_slack import LocalSlackServer
from alerts.slack import plain_text
from flows.sample_server import SampleServer
from flows.summary import print_summary

DEMO_CONFIG_TEMPLATE = Path(__file__).parent / "demo_config.toml"
DEMO_SLACK_TOKEN_ENV = "UPROAR_DEMO_SLACK_TOKEN"
DEFAULT_STATE_DIR = Path(".uproar/demo")

NEXT_STEPS = """\
[bold]Next, try:[/bold]
  make demo                                        # again: nothing new is added
  .venv/bin/uproar complaints list --config {config}
  .venv/bin/uproar config check --config {config}
  echo '{{"id": 1, "text": "My refund is still not paid"}}' | .venv/bin/uproar sentiment score
  cp {config} uproar.toml   # then point its sources at real feeds; see README"""


def write_demo_config(state_dir: Path, sample_url: str, slack_url: str) -> Path:
    """The demo's uproar.toml with the local servers' addresses filled in."""
    text = Template(DEMO_CONFIG_TEMPLATE.read_text(encoding="utf-8")).substitute(
        sample_url=sample_url, slack_url=slack_url, state_dir=state_dir.resolve().as_posix()
    )
    path = state_dir / "uproar.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_demo(console: Console, state_dir: Path = DEFAULT_STATE_DIR) -> int:
    """Run the demo; returns the number of complaints opened (for tests)."""
    from flows.monitor import monitor

    state_dir.mkdir(parents=True, exist_ok=True)
    os.environ[DEMO_SLACK_TOKEN_ENV] = "xoxb-uproar-demo-local"
    with SampleServer() as sample, LocalSlackServer(channels=("larkspur-alerts",)) as slack:
        config_path = write_demo_config(state_dir, sample.base_url, slack.base_url)
        console.print(
            Panel.fit(
                f"Sample sources: {sample.base_url}/feed.xml, 3 review pages, a Mastodon "
                "hashtag timeline and a subreddit\n"
                f"Slack-compatible server: {slack.base_url}\n"
                f"Config: {config_path}\n"
                f"Database: {state_dir / 'uproar.db'}",
                title="uproar demo",
            )
        )
        console.print("Running the monitor flow: crawl -> store -> score -> triage -> alert ...")
        summary = monitor(str(config_path))
        print_summary(summary, console)
        messages = slack.messages
        if messages:
            console.print(
                f"\n[bold]The local Slack server received {len(messages)} messages:[/bold]"
            )
            for message in messages:
                console.print(
                    f"[bold]#{message.get('channel_name', '?')}[/bold] "
                    f"{escape(plain_text(str(message.get('text', ''))))}"
                )
    console.print()
    console.print(NEXT_STEPS.format(config=config_path))
    return len(summary.opened)
