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
