// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// Browser APIs that jsdom lacks and @grafana/ui touches: Select menus observe their options, and
// the code editor waits for fonts before measuring.
class IntersectionObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
Object.defineProperty(global, 'IntersectionObserver', { writable: true, value: IntersectionObserverStub });
Object.defineProperty(document, 'fonts', { configurable: true, value: { ready: Promise.resolve() } });
