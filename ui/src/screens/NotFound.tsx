import { Link } from 'react-router';
import { EmptyState } from '../components/States';
import { usePageTitle } from '../state/pageTitle';

export function NotFound() {
  usePageTitle('Page not found');
  return (
    <EmptyState title="Nothing here">
      This page does not exist in Spartex Control.{' '}
      <Link className="text-accent underline" to="/">
        Go to the dashboard
      </Link>
      .
    </EmptyState>
  );
}
