"""mlci-serving: what every model of an mlci repository is served with, and the names the toolkit shares.

The kinds of column a schema states are importable from here; the service is `mlci_serving.service`,
which imports BentoML, so that reading a schema never does.
"""

from mlci_serving.columns import Categorical, Column, Date, Numeric, Role, Task, Text

__version__ = "0.1.2"  # the distribution's: a bento carries this package's source, not its metadata

__all__ = ["Categorical", "Column", "Date", "Numeric", "Role", "Task", "Text", "__version__"]
