section_containerd() { cannot_run containerd 'not written yet'; }
