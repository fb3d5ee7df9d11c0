// Compute backend selection: WebGPU → WebGL → CPU, with the reason for every fallback.

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
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

function watchDevice(device: GPUDevice): void {
  device.addEventListener('uncapturederror', (ev) => {
    const msg = (ev as GPUUncapturedErrorEvent).error.message;
    console.error(`[ctc-lab] WebGPU error: ${msg}`);
    gpuErrors.push(msg.split('\n')[0]);
  });
  void device.lost.then((info) => {
    console.error(`[ctc-lab] WebGPU device lost (${info.reason}): ${info.message}`);
    gpuErrors.push(`device lost (${info.reason}): ${info.message}`);
  });
}

export async function initBackend(prefer: BackendInfo['name'][] = ['webgpu', 'webgl', 'cpu']): Promise<BackendInfo> {
  registerCtcKernels();
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
