import { Component, type ReactNode } from 'react';

/** Never a blank page: an unexpected rendering error is shown in words with a way out. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <main className="page" role="alert">
        <h1>Something went wrong in the web UI</h1>
        <p>{this.state.error.message || String(this.state.error)}</p>
        <p>
          <a href="#/" onClick={() => this.setState({ error: null })}>
            Back to the dashboard
          </a>{' '}
          or reload the page. The engine and its clones are not affected.
        </p>
      </main>
    );
  }
}
