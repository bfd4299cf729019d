/* One live stream per browser, shared by every open page of this node (a SharedWorker).

   A browser opens at most six HTTP/1.1 connections to one host, and an EventSource holds one
   for as long as its page is open: a seventh page of the same node would wait for a
   connection. Here one EventSource serves them all. Each page connects a port, says which event
   names it listens to, and receives those events as {kind: "event", type, data, id}, and the
   stream's state as {kind: "state", readyState} (that of an EventSource: 0 connecting, 1 open,
   2 closed); a page that arrives while the stream is open is told so at once. The browser
   resumes the stream with Last-Event-ID as it does for a page. A page says "bye" when it goes
   away (and "back" if the browser's back-forward cache restores it); with no page left the stream closes, and a stream the server closed (a session that
   ended) is opened anew for the next page that connects. Nothing here reads what an event
   says: pages parse it, and set a peer's strings as text. */
"use strict";

const ports = new Set();
const names = new Set();
let source = null;

function broadcast(message) {
  for (const port of ports) port.postMessage(message);
}

function state() {
  return { kind: "state", readyState: source ? source.readyState : 2 };
}

function relay(name) {
  source.addEventListener(name, (event) => broadcast({ kind: "event", type: name, data: event.data, id: event.lastEventId }));
}

function open() {
  source = new EventSource("/api/v1/stream");
  source.addEventListener("open", () => broadcast(state()));
  source.addEventListener("error", () => broadcast(state()));
  for (const name of names) relay(name);
}

function leave(port) {
  ports.delete(port);
  if (!ports.size && source) {
    source.close();
    source = null;
  }
}

self.addEventListener("connect", (connection) => {
  const port = connection.ports[0];
  ports.add(port);
  port.addEventListener("message", ({ data }) => {
    if (data && typeof data.listen === "string" && !names.has(data.listen)) {
      names.add(data.listen);
      if (source) relay(data.listen);
    } else if (data === "bye") {
      leave(port);
    } else if (data === "back") { // the page came back from the browser's back-forward cache
      ports.add(port);
      if (!source || source.readyState === EventSource.CLOSED) open();
      port.postMessage(state());
    }
  });
  port.start();
  if (!source || source.readyState === EventSource.CLOSED) open();
  port.postMessage(state());
});
