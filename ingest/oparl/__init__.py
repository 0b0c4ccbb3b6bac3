"""The OParl connector: sync a council information system's OParl 1.1 API into the index."""

from chatbot.errors import OParlError
from ingest.oparl.client import USER_AGENT, OParlClient
from ingest.oparl.sync import OParlSync, sync_oparl

__all__ = ["USER_AGENT", "OParlClient", "OParlError", "OParlSync", "sync_oparl"]
