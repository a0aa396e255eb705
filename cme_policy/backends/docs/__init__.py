"""Docs backend: the governors' review pack and the technical reference, each as one
self-contained HTML file and as Markdown with Mermaid flowcharts; `print_pdf` prints the pack.

```python
files = generate(policy, "policy/ (sha256 1a2b…)")
files["docs/governors-pack.html"], files["docs/reference.html"]
print_pdf(Path("generated"))  # → generated/pdf/governors-pack.pdf, when Chromium is present
```
"""

from __future__ import annotations

from cme_policy.backends.docs.pdf import PACK_PDF
from cme_policy.backends.docs.pdf import print_beside as print_pdf
from cme_policy.backends.docs.render import (
                                             ChangesSince,
                                             ChangeView,
                                             generate,
                                             render_html,
                                             render_markdown,
)

__all__ = ["PACK_PDF", "ChangeView", "ChangesSince", "generate", "print_pdf", "render_html",
           "render_markdown"]
