import { SharedMemory } from '../../lib';
test('loads', () => {
  expect(process.platform).toBe('win32');
  expect(() => SharedMemory.create('x', { size: 10 })).toThrow(expect.objectContaining({ code: 'ERR_IPC_UNSUPPORTED_PLATFORM' }));
});
