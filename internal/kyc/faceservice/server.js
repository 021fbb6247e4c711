'use strict';
// Rampart embedded face matcher (FEATURES K3, K5).
//
// Started by the Go process (internal/kyc/facematch) as a child: it listens
// on the Unix socket named by RAMPART_FACE_SOCKET (mode 0600, in a private
// directory the parent created) and answers two requests:
//
//   GET  /healthz  -> {"ok":true,"model":...} once the models are loaded
//   POST /compare  -> body: uint32 big-endian length N, N bytes of image A,
//                     the rest image B (JPEG or PNG). Answer:
//                     {"faces_a":n,"faces_b":m,"distance":d} or {"error":code}
//
// Zero retention: images arrive in memory only; nothing is written to disk,
// nothing about an image is logged; request buffers and decoded pixels are
// overwritten with zeros once the descriptors are computed, and tensors are
// disposed. The process holds no state between requests but the model.
//
// Pixel decoding uses jpeg-js and pngjs (pure JavaScript, no native modules);
// inference runs on the TensorFlow.js WebAssembly backend, whose .wasm files
// ship inside the npm package (nothing is downloaded at run time).

const http = require('http');
const path = require('path');
const fs = require('fs');

const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

const socketPath = process.env.RAMPART_FACE_SOCKET;
const maxBody = Number(process.env.RAMPART_FACE_MAX_BYTES || 20 << 20);
const maxPixels = Number(process.env.RAMPART_FACE_MAX_PIXELS || 40e6);
// Images are scaled down to this longer side before detection: the
// detector works at 512x512 anyway, and the cost of a larger input is all
// in resizing.
const workSide = Number(process.env.RAMPART_FACE_WORK_SIDE || 800);

if (!socketPath) {
  process.stderr.write('faceservice: RAMPART_FACE_SOCKET is not set\n');
  process.exit(2);
}

let ready = false;

// The Tiny Face Detector (a Tiny YOLO v2 variant, 190 KB) looks for the
// face first: on the WebAssembly backend it is several times faster than
// SSD MobileNet v1. It misses more faces (small, turned, low contrast), so
// when it finds none SSD MobileNet v1 looks again. The 128-d descriptor
// comes from the ResNet-34-like recognition model either way, on the face
// aligned by the 68-point landmarks.
const tinyOptions = new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 });
const ssdOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });

async function load() {
  await tf.setBackend('wasm');
  await tf.ready();
  const modelDir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  ready = true;
}

class BadImage extends Error {
  constructor(code) { super(code); this.code = code; }
}

// pngSize reads width and height from the IHDR chunk, so a pixel bomb is
// refused before any decoding.
function pngSize(buf) {
  if (buf.length < 24 || buf.toString('latin1', 12, 16) !== 'IHDR') throw new BadImage('bad_image');
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

// decode returns an int32 RGB tensor [h, w, 3] and wipes the pixel buffer.
function decode(buf) {
  let w; let h; let data; let channels;
  if (buf.length > 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
    let img;
    try {
      img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 512 });
    } catch (e) {
      throw new BadImage('bad_image');
    }
    w = img.width; h = img.height; data = img.data; channels = 4; // RGBA, also for greyscale JPEGs
  } else if (buf.length > 8 && buf.toString('latin1', 1, 4) === 'PNG') {
    const [pw, ph] = pngSize(buf);
    if (pw * ph > maxPixels) throw new BadImage('too_many_pixels');
    let img;
    try {
      img = PNG.sync.read(buf);
    } catch (e) {
      throw new BadImage('bad_image');
    }
    w = img.width; h = img.height; data = img.data; channels = 4;
  } else {
    throw new BadImage('unsupported_type');
  }
  const rgb = new Int32Array(w * h * 3);
  for (let i = 0, j = 0; i < w * h; i++, j += channels) {
    rgb[i * 3] = data[j]; rgb[i * 3 + 1] = data[j + 1]; rgb[i * 3 + 2] = data[j + 2];
  }
  data.fill(0);
  let t = tf.tensor3d(rgb, [h, w, 3], 'int32');
  rgb.fill(0);
  const side = Math.max(w, h);
  if (side > workSide) {
    const s = workSide / side;
    const small = tf.tidy(() => tf.image.resizeBilinear(t, [Math.round(h * s), Math.round(w * s)]).round().toInt());
    t.dispose();
    t = small;
  }
  return t;
}

// largestFace returns the number of faces and the descriptor of the largest.
async function largestFace(buf) {
  const t = decode(buf);
  try {
    let found = await faceapi.detectAllFaces(t, tinyOptions).withFaceLandmarks().withFaceDescriptors();
    if (found.length === 0) {
      found = await faceapi.detectAllFaces(t, ssdOptions).withFaceLandmarks().withFaceDescriptors();
    }
    if (found.length === 0) return { n: 0 };
    let best = found[0];
    for (const f of found) {
      if (f.detection.box.area > best.detection.box.area) best = f;
    }
    return { n: found.length, descriptor: best.descriptor };
  } finally {
    t.dispose();
  }
}

function reply(res, status, body) {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
  res.end(s);
}

async function compare(body) {
  if (body.length < 4) throw new BadImage('bad_request');
  const n = body.readUInt32BE(0);
  if (n === 0 || 4 + n >= body.length) throw new BadImage('bad_request');
  const a = body.subarray(4, 4 + n);
  const b = body.subarray(4 + n);
  const fa = await largestFace(a);
  const fb = await largestFace(b);
  const out = { faces_a: fa.n, faces_b: fb.n };
  if (fa.descriptor && fb.descriptor) out.distance = faceapi.euclideanDistance(fa.descriptor, fb.descriptor);
  if (fa.descriptor) fa.descriptor.fill(0);
  if (fb.descriptor) fb.descriptor.fill(0);
  return out;
}

// Requests are served one at a time: inference is CPU-bound and
// single-threaded, so queueing keeps memory bounded.
let chain = Promise.resolve();

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    reply(res, ready ? 200 : 503, { ok: ready, model: 'face-api 1.7.15 tiny_face_detector (ssd_mobilenetv1 fallback) + face_landmark_68 + face_recognition (128-d)', backend: tf.getBackend() });
    return;
  }
  if (req.method !== 'POST' || req.url !== '/compare') {
    reply(res, 404, { error: 'not_found' });
    return;
  }
  if (!ready) {
    reply(res, 503, { error: 'not_ready' });
    return;
  }
  const declared = Number(req.headers['content-length']);
  if (!(declared > 0) || declared > maxBody) {
    reply(res, 413, { error: 'too_large' });
    req.destroy();
    return;
  }
  const body = Buffer.alloc(declared);
  let off = 0;
  req.on('data', (chunk) => {
    if (off + chunk.length > declared) {
      req.destroy();
      return;
    }
    chunk.copy(body, off);
    off += chunk.length;
    chunk.fill(0);
  });
  req.on('end', () => {
    chain = chain.then(async () => {
      try {
        if (off !== declared) throw new BadImage('bad_request');
        reply(res, 200, await compare(body));
      } catch (e) {
        if (e instanceof BadImage) reply(res, 400, { error: e.code });
        else {
          // Never log the error's data: only its class.
          process.stderr.write(`faceservice: compare failed: ${e && e.name}\n`);
          reply(res, 500, { error: 'internal' });
        }
      } finally {
        body.fill(0);
      }
    });
  });
});

server.requestTimeout = 60000;
server.headersTimeout = 10000;

load().then(() => {
  server.listen(socketPath, () => {
    fs.chmodSync(socketPath, 0o600);
    process.stdout.write('faceservice: ready\n');
  });
}).catch((e) => {
  process.stderr.write(`faceservice: model load failed: ${e && e.message}\n`);
  process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
// The parent closes our stdin when it goes away: exit with it, so an
// orphaned matcher never outlives Rampart.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
