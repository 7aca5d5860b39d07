import { Link } from 'react-router';
import { EmptyState } from '../components/States';

export function NotFound() {
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
