"""The baseline for bench/bench_uploads.py: a plain aiohttp server that reads each multipart
upload in chunks and throws the bytes away. `python bench/upload_sink.py PORT` (127.0.0.1)."""
import sys

from aiohttp import web


async def sink(request: web.Request) -> web.Response:
    reader = await request.multipart()
    received = 0
    while (part := await reader.next()) is not None:
        while chunk := await part.read_chunk(1 << 18):
            received += len(chunk)
    return web.json_response({"received": received}, status=201)


app = web.Application()
app.router.add_post("/upload", sink)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
