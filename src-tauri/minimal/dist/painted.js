// Two animation frames after the page runs, its first frame has been painted: the app says so,
// the way Spartex Control's UI reports its first painted dashboard.
requestAnimationFrame(() => requestAnimationFrame(() => window.__TAURI_INTERNALS__.invoke('painted')));
