import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { DiffView, PreviewView } from './Preview';

describe('DiffView', () => {
  it('renders + lines green and − lines red, in monospace', () => {
    const { container } = render(<DiffView path="ads/spring.yaml" diff={'@@ -1,2 +1,2 @@\n keep\n-old line\n+new line\n'} />);
    const added = container.querySelector('tr[data-kind="add"]');
    const removed = container.querySelector('tr[data-kind="del"]');
    expect(added).toHaveClass('diff-add', 'bg-green-soft');
    expect(added).toHaveTextContent('+new line');
    expect(removed).toHaveClass('diff-del', 'bg-red-soft');
    expect(removed).toHaveTextContent('−old line');
    expect(container.querySelector('table')).toHaveClass('font-mono');
    expect(screen.getByText('+1')).toBeInTheDocument();
    expect(screen.getByText('−1')).toBeInTheDocument();
  });
});

describe('PreviewView', () => {
  it('shows an amount change as old → new per period', () => {
    render(<PreviewView preview={{ type: 'amount', currency: 'USD', old_amount: 1500, new_amount: 2500, period: 'day' }} />);
    expect(screen.getByTestId('amount-line')).toHaveTextContent('$1,500.00 → $2,500.00 per day');
  });

  it('shows copy as the ad people will see', () => {
    render(
      <PreviewView
        preview={{ type: 'copy', channel: 'Email — Harbor Coffee newsletter', headline: 'Your spring blend is here', body: 'Order by Friday.', image_description: 'Beans on a table', audience: '48,210 subscribers' }}
      />,
    );
    expect(screen.getByText('Your spring blend is here')).toBeInTheDocument();
    expect(screen.getByText('To: 48,210 subscribers')).toBeInTheDocument();
    expect(screen.getByText(/Beans on a table/)).toBeInTheDocument();
  });
});
