// The camera as a QR reader: getUserMedia frames, drawn on a canvas, decoded by jsQR
// in a worker until one frame holds a code.

const FRAME_MS = 150;
const WIDTH_MAX = 640; // enough pixels for a phone-screen QR; fewer keeps decoding quick

let running = null;

/** Stop the camera (if it runs) and forget the frames. */
export function stop() {
  if (running === null) return;
  running.stopped = true;
  clearTimeout(running.timer);
  running.worker.terminate();
  for (const track of running.stream.getTracks()) track.stop();
  running.video.srcObject = null;
  running.video.hidden = true;
  running = null;
}

/** Start the camera into `video`; resolves with the first code's text read from it. */
export async function scan(video) {
  stop();
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: { ideal: "environment" } },
    audio: false,
  });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const worker = new Worker(new URL("./scan-worker.js", import.meta.url));
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const state = { stream, video, worker, timer: 0, stopped: false };
  running = state;
  return new Promise((resolve) => {
    let waiting = false;
    worker.onmessage = (message) => {
      waiting = false;
      if (message.data !== null && !state.stopped) {
        stop();
        resolve(message.data);
      }
    };
    const frame = () => {
      if (state.stopped) return;
      if (!waiting && video.videoWidth > 0) {
        const scale = Math.min(1, WIDTH_MAX / video.videoWidth);
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const image = context.getImageData(0, 0, canvas.width, canvas.height);
        waiting = true;
        worker.postMessage(
          { pixels: image.data, width: image.width, height: image.height },
          [image.data.buffer],
        );
      }
      state.timer = setTimeout(frame, FRAME_MS);
    };
    frame();
  });
}
