// The benchmarks' webhook receiver, on a thread of its own: at a few thousand webhooks per second it
// would otherwise share the event loop of the load generator and inflate the API latencies measured
// there. It counts deliveries and distinct event ids (redeliveries count once) into shared memory.
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const counters = new Int32Array(workerData.counters); // [distinct event ids, deliveries]
const seen = new Set();
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const deliveries = Atomics.add(counters, 1, 1) + 1;
    const id = String(req.headers['x-shardgate-event-id'] ?? `delivery-${deliveries}`);
    if (!seen.has(id)) {
      seen.add(id);
      Atomics.add(counters, 0, 1);
    }
    res.writeHead(200).end();
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message === 'close') server.close(() => parentPort.postMessage({ closed: true }));
});
