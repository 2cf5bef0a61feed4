module bench.example/cold278

go 1.21
