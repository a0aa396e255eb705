"""Scenarios: a policy's own tests, written for governors, run through the interpreter.

```python
report = run_scenarios(policy, Path("policy"))
report.passed, report.failed
report.coverage.rules_figure.percent, report.coverage.transitions_never_taken
print(render_text(report))
```

The format and its meaning are in docs/scenarios.md.
"""

from cme_policy.scenarios.coverage import Coverage, Figure
from cme_policy.scenarios.report import render_json, render_text
from cme_policy.scenarios.run import Failure, ScenarioReport, ScenarioResult, run_scenarios

__all__ = ["Coverage", "Failure", "Figure", "ScenarioReport", "ScenarioResult", "render_json",
           "render_text", "run_scenarios"]
