from .catalog import ENGINE_PARAMS, engine_store
from .registry import Apply, Kind, Param, ParamError, ParamStore, Snapshot

__all__ = ["ENGINE_PARAMS", "engine_store", "Apply", "Kind", "Param", "ParamError", "ParamStore", "Snapshot"]
