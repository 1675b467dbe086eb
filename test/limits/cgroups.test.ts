// Where paas makes its cgroups, from /proc/self/cgroup: under the cgroup it runs in, per controller
// on v1, in one directory on v2, named after the instance. Pure path logic: runs on any host.
import { describe, expect, it } from 'vitest';
import { cgroupLayout } from '../../server/sandbox/cgroups.js';

describe('cgroup layout', () => {
  it('on v1, puts each controller under our own group in it (this host: memory in /process_api/<id>)', () => {
    const self = '9:name=systemd:/\n8:pids:/\n4:memory:/process_api/c2a2\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n';
    expect(cgroupLayout(self, '/sys/fs/cgroup', false, 'ab12')).toEqual({
      version: 1,
      dirs: { memory: '/sys/fs/cgroup/memory/process_api/c2a2/paas-ab12', pids: '/sys/fs/cgroup/pids/paas-ab12', cpu: '/sys/fs/cgroup/cpu/paas-ab12' },
    });
  });

  it('on v1, finds a controller mounted with others (cpu,cpuacct) under that mount', () => {
    const self = '5:pids:/system.slice/paas.service\n3:memory:/system.slice/paas.service\n2:cpu,cpuacct:/system.slice/paas.service\n';
    expect(cgroupLayout(self, '/sys/fs/cgroup', false, 'x')?.dirs.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct/system.slice/paas.service/paas-x');
  });

  it('on v1, has no layout when a controller is missing', () => {
    expect(cgroupLayout('4:memory:/\n1:cpu:/\n', '/sys/fs/cgroup', false, 'x')).toBeUndefined();
  });

  it('on v2, puts every controller in one directory under our group', () => {
    const dir = '/sys/fs/cgroup/system.slice/paas.service/paas-x';
    expect(cgroupLayout('0::/system.slice/paas.service\n', '/sys/fs/cgroup', true, 'x')).toEqual({ version: 2, dirs: { memory: dir, pids: dir, cpu: dir } });
    expect(cgroupLayout('0::/\n', '/sys/fs/cgroup', true, 'x')?.dirs.memory).toBe('/sys/fs/cgroup/paas-x');
  });

  it('names two instances apart', () => {
    const self = '0::/a\n';
    expect(cgroupLayout(self, '/r', true, 'one')?.dirs.memory).not.toBe(cgroupLayout(self, '/r', true, 'two')?.dirs.memory);
  });
});
