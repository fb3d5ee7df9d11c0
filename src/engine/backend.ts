// Compute backend selection: WebGPU → WebGL → CPU, with the reason for every fallback.

import * as tf from '@tensorflow/tfjs-core';
// The backends initBackend can pick (each registers itself on import).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { registerCtcKernels } from './ctc/ctc_loss';

export interface BackendInfo {
  name: 'webgpu' | 'webgl' | 'cpu';
  adapter: { vendor: string; architecture: string; device: string; description: string } | null;
  fallbackReasons: string[]; // why each better backend was not used; empty on WebGPU
  limits?: { maxStorageBufferBindingSize: number; maxComputeWorkgroupSizeX: number };
}

type GpuNavigator = { gpu?: GPU };

// WebGPU reports validation errors, out-of-memory and device loss asynchronously, and tfjs does
// not surface them: a failed pipeline silently drops a whole command buffer (every op batched
// with it). They are collected here, and training steps check them.
const gpuErrors: string[] = [];
export function throwOnGpuErrors(where: string): void {
  if (gpuErrors.length === 0) return;
  const msgs = gpuErrors.splice(0);
  throw new Error(`WebGPU error during ${where}: ${msgs.join(' | ')}`);
}

// Device loss (a driver reset, the GPU process restarting, device.destroy()): every tensor on the
// device is gone and the backend cannot be used again. The loss is recorded here; a job that
// fails asks deviceLost() and, if so, recoverWebGpu() drops the backend and starts a new adapter
// and device, and the job resumes from its last checkpoint (the worker does that).
let device: GPUDevice | null = null;
let lost: { reason: string; message: string } | null = null;

function watchDevice(d: GPUDevice): void {
  device = d;
  lost = null;
  d.addEventListener('uncapturederror', (ev) => {
    const msg = (ev as GPUUncapturedErrorEvent).error.message;
    console.error(`[ctc-lab] WebGPU error: ${msg}`);
    gpuErrors.push(msg.split('\n')[0]);
  });
  void d.lost.then((info) => {
    if (d !== device) return; // a device already replaced
    console.error(`[ctc-lab] WebGPU device lost (${info.reason}): ${info.message}`);
    lost = { reason: info.reason, message: info.message };
    gpuErrors.push(`device lost (${info.reason}): ${info.message}`);
  });
}

/**
 * Whether the WebGPU device under the current backend is lost, waiting up to `waitMs` for its
 * `lost` promise (it can settle just after the error that a job saw). null on webgl/cpu.
 */
export async function deviceLost(waitMs = 250): Promise<{ reason: string; message: string } | null> {
  if (!device || tf.getBackend() !== 'webgpu') return null;
  if (!lost) await Promise.race([device.lost, new Promise((r) => setTimeout(r, waitMs))]);
  await Promise.resolve(); // let the lost handler above record it
  return lost;
}

/** No WebGPU adapter came back after a reset: the page offers the fallback backend. */
export class NoGpuAdapterError extends Error {
  constructor(readonly fallback: Exclude<BackendInfo['name'], 'webgpu'>[]) {
    super(
      'The GPU was reset and no WebGPU adapter came back (the browser may have blocked WebGPU after the reset); continue on the fallback backend, or reload the page to try the GPU again',
    );
    this.name = 'NoGpuAdapterError';
  }
}

// tfjs-backend-webgpu's own factory (base.ts), registered again after removeBackend dropped it.
async function webgpuFactory(): Promise<tf.KernelBackend> {
  const gpu = (globalThis.navigator as GpuNavigator).gpu!;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('requestAdapter() returned no adapter');
  const l = adapter.limits;
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const d = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
  return new WebGPUBackend(d, adapter.info);
}

/**
 * After a device loss: drops the WebGPU backend (the tensors on it are gone; callers dispose
 * what they held first), registers a new one on a new adapter and device, re-registers the
 * custom kernels and makes it current. Throws NoGpuAdapterError when no adapter comes back.
 */
export async function recoverWebGpu(): Promise<BackendInfo> {
  try {
    tf.removeBackend('webgpu'); // disposes the lost backend; a lost device may make that throw
  } catch (e) {
    console.warn(`[ctc-lab] dropping the lost WebGPU backend: ${(e as Error).message}`);
  }
  gpuErrors.length = 0;
  device = null;
  lost = null;
  tf.registerBackend('webgpu', webgpuFactory, 3);
  registerCtcKernels(); // kernels are registered by backend name: they bind to the new instance
  const info = await initBackend(['webgpu']).catch(() => null);
  if (!info) throw new NoGpuAdapterError(['webgl', 'cpu']);
  return info;
}

/** Test hook (the worker exposes it only in test builds): destroys the current device as a driver reset would. */
export function destroyDeviceForTest(): void {
  if (tf.getBackend() !== 'webgpu') throw new Error('destroyDeviceForTest: the backend is not webgpu');
  (tf.backend() as WebGPUBackend).device.destroy();
}

/** Training needs the ops' gradients and chained methods registered (engine/tfjs_register.ts). */
function assertTfRegistered(): void {
  if (typeof (tf.Tensor.prototype as { toInt?: unknown }).toInt !== 'function' || !tf.getGradient(tf.Abs)) {
    throw new Error(
      'TF.js gradients and chained ops are not registered: import src/engine/tfjs_register.ts in a browser entry (or @tensorflow/tfjs in Node) before initBackend',
    );
  }
}

export async function initBackend(prefer: BackendInfo['name'][] = ['webgpu', 'webgl', 'cpu']): Promise<BackendInfo> {
  registerCtcKernels();
  assertTfRegistered();
  const reasons: string[] = [];
  for (const name of prefer) {
    if (name === 'webgpu') {
      const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
      if (!gpu) {
        reasons.push('WebGPU: navigator.gpu is missing (browser without WebGPU, or not a secure context)');
        continue;
      }
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
      if (!adapter) {
        reasons.push('WebGPU: requestAdapter() returned no adapter (GPU blocklisted or disabled)');
        continue;
      }
      try {
        if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend returned false');
        await tf.ready();
      } catch (e) {
        reasons.push(`WebGPU: backend failed to start (${(e as Error).message})`);
        continue;
      }
      const be = tf.backend() as WebGPUBackend;
      watchDevice(be.device);
      const info = adapter.info;
      return {
        name: 'webgpu',
        adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
        fallbackReasons: reasons,
        limits: {
          maxStorageBufferBindingSize: be.device.limits.maxStorageBufferBindingSize,
          maxComputeWorkgroupSizeX: be.device.limits.maxComputeWorkgroupSizeX,
        },
      };
    }
    try {
      if (!(await tf.setBackend(name))) throw new Error('tf.setBackend returned false');
      await tf.ready();
      return { name, adapter: null, fallbackReasons: reasons };
    } catch (e) {
      reasons.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no compute backend could start: ${reasons.join('; ')}`);
}
