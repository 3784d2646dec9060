"""The live view: an incremental, Qt-free pipeline and the trainer's window (docs/live.md).

``hipimu.live.pipeline`` and ``hipimu.live.reps`` need only numpy and scipy;
``hipimu.live.view`` needs the ``live`` extra (pyqtgraph and PySide6).
"""

from hipimu.live.bridge import SourceThread
from hipimu.live.pipeline import LivePipeline

__all__ = ["LivePipeline", "SourceThread"]
