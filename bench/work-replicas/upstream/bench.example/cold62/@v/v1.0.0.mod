module bench.example/cold62

go 1.21
