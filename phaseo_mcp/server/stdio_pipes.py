"""stdio for the MCP server on asyncio pipe transports.

The SDK's default stdio transport hands every line it reads, and every write and flush, to a
worker thread: three thread hand-offs per tool call, and a stdin read that no cancellation can
interrupt (a stopped server would linger until its client closed the pipe). Here stdin and
stdout are asyncio pipe transports on private copies of fds 0 and 1: no threads, reads that
cancel cleanly, and writes that respect back-pressure. While serving, fd 0 reads the null
device and fd 1 points at stderr, as the SDK's own transport arranges, so a stray write from
a library can never corrupt the protocol.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import anyio

from phaseo_mcp.server.stdio_guard import OversizedLine

MAX_LINE_BYTES = 64 * 1024 * 1024  # one JSON-RPC message per line
HEAD_BYTES = 4096  # kept of an over-long line, to find its id


class PipeLines:
    """``async for line in stdin`` over an asyncio StreamReader, as text. A line over the
    reader's limit comes out as an ``OversizedLine`` (its start; the rest is skipped)."""

    def __init__(self, reader: asyncio.StreamReader, limit: int = MAX_LINE_BYTES) -> None:
        self._reader = reader
        self._limit = limit

    def __aiter__(self) -> PipeLines:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:  # end of input
            if not exc.partial:
                raise StopAsyncIteration from None
            line = exc.partial
        except asyncio.LimitOverrunError as exc:
            head = await self._reader.readexactly(min(exc.consumed, HEAD_BYTES))
            await self._skip_line()
            return OversizedLine(head.decode("utf-8", errors="replace"), self._limit)
        return line.decode("utf-8", errors="replace")

    async def _skip_line(self) -> None:
        """Drop the rest of an over-long line, through its newline, holding at most the
        reader's limit in memory."""
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self._reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                return


class PipeWriter:
    """``await stdout.write(text); await stdout.flush()`` over an asyncio StreamWriter.

    While ``awaiting`` holds request ids (a shutdown waiting for the answers of the calls it
    stopped, see :meth:`expect`), each line written is checked for the answer to one of them."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.awaiting: set[str] = set()
        self._answered = anyio.Event()

    def expect(self, request_ids: Iterable[str]) -> None:
        """Watch for the answers to these requests (see :meth:`wait_answers`)."""
        self.awaiting.update(request_ids)

    async def wait_answers(self, seconds: float) -> None:
        """Wait (at most ``seconds``) until every expected answer is written and flushed."""
        with anyio.move_on_after(seconds):
            if self.awaiting:
                await self._answered.wait()
            await self.flush()

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))
        if self.awaiting:
            self._note_answer(text)

    def _note_answer(self, line: str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if isinstance(message, dict) and ("result" in message or "error" in message):
            self.awaiting.discard(str(message.get("id")))
            if not self.awaiting:
                self._answered.set()

    async def flush(self) -> None:
        await self._writer.drain()


@asynccontextmanager
async def pipe_stdio() -> AsyncIterator[tuple[PipeLines, PipeWriter]]:
    """Claim fds 0 and 1 as asyncio pipes; raises ValueError/OSError if they are not pipes
    (a regular file or a closed descriptor), in which case the caller falls back."""
    loop = asyncio.get_running_loop()
    saved_in, saved_out = os.dup(0), os.dup(1)
    read_file = os.fdopen(os.dup(0), "rb", buffering=0)
    write_file = os.fdopen(os.dup(1), "wb", buffering=0)
    reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    read_transport: asyncio.BaseTransport | None = None
    write_transport: asyncio.WriteTransport | None = None
    try:
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), read_file
        )
        write_transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, write_file
        )
        writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        yield PipeLines(reader), PipeWriter(writer)
    finally:
        if write_transport is not None:
            write_transport.close()
        else:
            write_file.close()
        if read_transport is not None:
            read_transport.close()
        else:
            read_file.close()
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        for fd in (0, 1):  # the transports made the shared descriptions non-blocking
            try:
                os.set_blocking(fd, True)
            except OSError:
                pass
        os.close(saved_in)
        os.close(saved_out)
