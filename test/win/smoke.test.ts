// The Windows build loads in a Windows node.exe, says which platform it is, and knows whether it
// runs under Wine (what test/win/ uses to state Wine's known differences, ../shared/WINDOWS.md).
import { binding } from '../../lib/binding';

test('the addon loaded is the Windows build', () => {
  expect(process.platform).toBe('win32');
  expect(binding.platform).toBe('win32');
  expect(binding.features.windows).toBe(true);
  const wine = binding.wineVersion!();
  expect(wine === null || /^\d+\.\d+/.test(wine)).toBe(true);
});
