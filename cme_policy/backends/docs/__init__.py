"""Docs backend: the governors' procedure handbook, as one self-contained HTML file and as
Markdown with Mermaid flowcharts.

```python
files = generate(policy, "policy/ (sha256 1a2b…)")
files["docs/handbook.html"], files["docs/handbook.md"]
```
"""

from __future__ import annotations

from cme_policy.backends.docs.render import (ChangesSince, ChangeView, generate, render_html,
                                             render_markdown)

__all__ = ["ChangeView", "ChangesSince", "generate", "render_html", "render_markdown"]
