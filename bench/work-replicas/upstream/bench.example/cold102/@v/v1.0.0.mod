module bench.example/cold102

go 1.21
