"""The live room: the hub that delivers committed events to websocket clients (each with a
bounded queue and its own sender), the wire protocol, and the /api/v1/live endpoint. It
decides nothing itself: who may watch what is policy.can_watch, asked at every delivery."""
