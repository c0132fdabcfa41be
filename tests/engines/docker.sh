section_docker() { cannot_run docker 'not written yet'; }
